"""Shared pieces of the benchmarks: a demo instance, a real server process, timers, output.

Benchmarks print figures; they assert nothing. Each ends, with ``--json``, with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parser(description: str) -> argparse.ArgumentParser:
    """Arguments every benchmark takes: ``--scale``, ``--json``, ``--keep``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scale", type=float, default=1.0,
                   help="demo program scale (1 = 1,033 families)")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    p.add_argument("--seed", type=int, default=2026)
    return p


def make_demo_instance(scale: float, seed: int, extra_env: dict[str, str] | None = None,
                       ) -> tuple[Path, float]:
    """A temporary instance folder holding the demo program; returns it and the seconds taken.

    With ``FIELDAPP_BENCH_CACHE`` set to a folder, the generated instance is kept there (one per
    scale, seed and migration head) and later runs start from a copy of it; the seconds reported
    are then those of the run that generated it. Without it, every run generates afresh.
    """
    instance = Path(tempfile.mkdtemp(prefix="fieldapp-bench-"))
    cache_root = os.environ.get("FIELDAPP_BENCH_CACHE")
    cached = None
    if cache_root and not extra_env:
        heads = sorted(p.name for p in (ROOT / "fieldapp/migrations/versions").glob("*.py"))
        cached = Path(cache_root) / f"demo-{scale:g}-{seed}-{heads[-1].removesuffix('.py')}"
        if (cached / "seconds").exists():
            shutil.copytree(cached, instance, dirs_exist_ok=True)
            return instance, float((cached / "seconds").read_text())
    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": str(instance), **(extra_env or {})}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fieldapp", "demo", "--scale", str(scale), "--seed",
                    str(seed)], cwd=ROOT, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    if cached is not None:
        partial = cached.with_name(cached.name + f".{os.getpid()}")
        shutil.copytree(instance, partial)
        (partial / "seconds").write_text(f"{seconds:.1f}")
        try:
            partial.rename(cached)
        except OSError:  # another run cached it first
            shutil.rmtree(partial, ignore_errors=True)
    return instance, seconds


CACHE = ROOT / "instance" / "bench-cache"
#: The local PostgreSQL server, as an administrator (to create and drop benchmark databases).
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def app_config(instance: Path, code: str, **extra: Any) -> dict[str, Any]:
    """An app's configuration in ``instance``, as the node (or central) of this short code."""
    return {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "bench",
        "NODE_ID": str(uuid.uuid5(uuid.NAMESPACE_DNS, code)),
        "NODE_CODE": code,
        "AUTO_MIGRATE": True,
        **extra,
    }


def field_node_database(scale: float, seed: int, log: Any) -> Path:
    """A field node database holding the demo program (generated once, then cached): every
    record in its outbox, as after weeks without a connection.

    With ``FIELDAPP_BENCH_CACHE`` set, the benchmarks' shared cache is used
    (:func:`make_demo_instance`); otherwise ``instance/bench-cache/``.
    """
    import hashlib

    if os.environ.get("FIELDAPP_BENCH_CACHE"):
        log(f"demo program at scale {scale:g} from FIELDAPP_BENCH_CACHE (generated if missing)")
        instance, _seconds = make_demo_instance(scale, seed)
        return instance / "fieldapp.sqlite"

    migrations = sorted(p.name for p in (ROOT / "fieldapp/migrations/versions").glob("*.py"))
    tag = hashlib.sha256("\n".join(migrations).encode()).hexdigest()[:8]
    key = f"demo-{scale:g}-{seed}-{tag}"
    target = CACHE / key / "fieldapp.sqlite"
    if target.exists():
        return target
    log(f"generating the demo program at scale {scale:g} (once; cached in {target.parent})")
    instance = CACHE / f"{key}.tmp"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    # In a process of its own: generating holds the whole program in memory (some 600 MB at
    # scale 10), which would otherwise be the benchmark's peak memory on the run that fills
    # the cache instead of the sync's.
    subprocess.run([sys.executable, "-c", "import sys; from benchmarks._harness import "
                    "generate_field_node as g; g(sys.argv[1], float(sys.argv[2]), "
                    "int(sys.argv[3]))", str(instance), str(scale), str(seed)],
                   cwd=ROOT, check=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(instance / "fieldapp.sqlite"), target)
    shutil.rmtree(instance, ignore_errors=True)
    return target


def generate_field_node(instance: str, scale: float, seed: int) -> None:
    """Generate the demo program into a field node database in ``instance`` (a new folder),
    its WAL folded into the file (:func:`field_node_database` runs this in a child process)."""
    from fieldapp import create_app
    from fieldapp.checkpoints import fold
    from fieldapp.demo.generator import generate
    from fieldapp.extensions import db

    app = create_app(app_config(Path(instance), "BEN", ROLE="field"))
    with app.app_context():
        generate(scale=scale, seed=seed)
        db.session.commit()
        fold(db.engine)
        db.engine.dispose()


def install_dashboard_triggers(app: Any) -> None:
    """Install the dashboard's triggers in ``app``'s database, as on a central where a
    coordinator has opened the dashboard: from then on they mark the community of every record
    written, a pushed page's included (SQLite: a trigger per row; PostgreSQL: per statement)."""
    from fieldapp.dashboard.triggers import ensure_triggers
    from fieldapp.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        ensure_triggers(conn)
        conn.commit()


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gunicorn_children(pid: int) -> list[int]:
    """The worker processes of a gunicorn master."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else ""


def login(base: str, username: str, password: str = "fieldapp-demo") -> requests.Session:
    """A logged-in HTTP session (keep-alive) against a running server."""
    session = requests.Session()
    token = csrf_token(session.get(f"{base}/auth/login").text)
    response = session.post(f"{base}/auth/login", data={"username": username,
                                                         "password": password,
                                                         "csrf_token": token})
    response.raise_for_status()
    return session


def timed(fn: Callable[[int], Any], runs: int) -> dict[str, float]:
    """Run ``fn(i)`` ``runs`` times (after two warm-ups); p50/p95/max in milliseconds."""
    fn(-1)
    fn(-2)
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "max_ms": round(samples[-1], 2),
        "runs": runs,
    }


def report(title: str, rows: dict[str, dict[str, float]], extra: dict[str, Any],
           as_json: bool) -> None:
    """Print a table of timings and, with ``--json``, one JSON line at the end."""
    print(title)
    for name, row in rows.items():
        print(f"  {name:<28} p50 {row['p50_ms']:>8.2f} ms   p95 {row['p95_ms']:>8.2f} ms"
              f"   max {row['max_ms']:>8.2f} ms   ({row['runs']} runs)")
    for key, value in extra.items():
        print(f"  {key:<28} {value}")
    if as_json:
        line = {f"{name}_p95_ms": row["p95_ms"] for name, row in rows.items()}
        line.update({f"{name}_p50_ms": row["p50_ms"] for name, row in rows.items()})
        line.update(extra)
        print(json.dumps(line))


def cleanup(instance: Path) -> None:
    shutil.rmtree(instance, ignore_errors=True)
