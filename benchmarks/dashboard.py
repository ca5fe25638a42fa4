"""Benchmark the coordinators' dashboard and the CSV export on the demo program.

    python benchmarks/dashboard.py --scale 10 --json                      # SQLite
    python benchmarks/dashboard.py --scale 10 --database postgresql --json  # PostgreSQL

Builds the demo program at ``--scale`` (1 = 1,033 families; 10 = 10,330 families and ~250,000
deliveries) in a fresh database (SQLite file, or a PostgreSQL database with a random name on
127.0.0.1:5432 that is dropped afterwards; ``--reuse`` keeps either for the next run), then,
in-process through the Werkzeug test client (server time, no network):

1. the first dashboard view, which builds every summary table after the bulk load;
2. a first pass over a mix of dashboard pages (periods x communities): each pays for the
   statuses of its day and the figures of its period the first time (``dashboard_cold_max_ms``);
3. ``--rounds`` timed rounds over the same mix: ``dashboard_p95_ms`` (and p50), wall time,
   and ``dashboard_p95_cpu_ms``, this process's CPU time (on a shared machine the wall time
   includes waiting for a core; with PostgreSQL the server's own CPU is not in it);
4. the same with a staff filter (two periods): a first pass, which computes that person's
   families figures for each (day, period) (``dashboard_staff_cold_max_ms``), then three timed
   rounds (``dashboard_staff_p95_ms``, and its CPU);
5. a CSV export of every delivery, streamed and read to the end: its time, this process's
   CPU time, the process's peak resident memory during the export (``VmHWM`` reset just
   before it) and its growth; with PostgreSQL on this machine, also the CPU time of the
   server processes serving the database (``export_db_cpu_s``, read from ``/proc``).

The last line printed with ``--json`` is one JSON object with ``dashboard_p95_ms``,
``export_csv_s``, ``export_peak_rss_mb`` and ``database``, among other figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._harness import PG_ADMIN  # noqa: E402

TODAY = "2026-10-31"
PERIODS = [
    ("2026-01", "2026-10"),
    ("2026-07", "2026-09"),
    ("2025-11", "2026-10"),
    ("2025-01", "2025-12"),
]


def rss_mb(field: str = "VmRSS") -> float:
    """The process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5); False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def server_cpu(app: Any) -> dict[int, float]:
    """CPU seconds (user + system) of each PostgreSQL backend connected to the app's database,
    read from ``/proc`` (the server runs on this machine); empty on SQLite or elsewhere."""
    from sqlalchemy import text

    from fieldapp.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return {}
        with db.engine.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars().all()
    ticks, cpu = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return cpu


def make_app(args: argparse.Namespace, workdir: Path) -> tuple[Any, str, Any]:
    """The app on a database holding the demo program; returns (app, database, cleanup)."""
    from fieldapp import create_app
    from fieldapp.demo.generator import generate, has_data
    from fieldapp.extensions import db

    config = {
        "INSTANCE_PATH": str(workdir),
        "SECRET_KEY": "bench",
        "NODE_ID": str(uuid.uuid4()),
        "NODE_CODE": "BEN",
        "ROLE": "central",
        "AUTO_MIGRATE": True,
        "DASHBOARD_TODAY": TODAY,
        "WTF_CSRF_ENABLED": False,
    }
    cleanup = None
    if args.database == "postgresql":
        import psycopg

        name = (
            f"fieldapp_bench_s{args.scale:g}".replace(".", "_")
            if args.reuse
            else f"fieldapp_bench_{uuid.uuid4().hex[:10]}"
        )
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
        config["SQLALCHEMY_DATABASE_URI"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

        def cleanup() -> None:
            if not args.reuse:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    elif args.reuse:
        path = ROOT / "instance" / "bench" / f"dashboard-s{args.scale:g}-seed{args.seed}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app = create_app(config)
    with app.app_context():
        if not has_data():
            started = time.perf_counter()
            stats = generate(scale=args.scale, seed=args.seed)
            print(f"generated {stats} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        db.session.remove()
    return app, args.database, cleanup


def login(app: Any) -> Any:
    """A test client logged in as the demo coordinator."""
    from fieldapp.demo.base import DEMO_PASSWORD

    client = app.test_client()
    response = client.post(
        "/auth/login", data={"username": "coordinadora", "password": DEMO_PASSWORD}
    )
    if response.status_code != 302:
        raise SystemExit("could not log in as the demo coordinator")
    return client


CPU_MS: list[float] = []  # this process's CPU time per timed request (SQLite work included)


def timed_get(client: Any, url: str, query: dict[str, str]) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, query_string=query)
    response.get_data()
    elapsed = (time.perf_counter() - started) * 1000
    CPU_MS.append((time.process_time() - cpu) * 1000)
    if response.status_code != 200:
        raise SystemExit(f"{url} {query} answered {response.status_code}")
    return elapsed


def p95(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fieldapp-bench-") as tmp:
        app, database, cleanup = make_app(args, Path(tmp))
        try:
            return measure(app, database, args)
        finally:
            from fieldapp.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if cleanup:
                cleanup()


def measure(app: Any, database: str, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select

    from fieldapp.auth.models import User
    from fieldapp.communities.models import Community
    from fieldapp.deliveries.models import Delivery
    from fieldapp.extensions import db
    from fieldapp.families.models import Family

    rng = random.Random(args.seed)
    with app.app_context():
        communities = [str(c) for c in db.session.execute(select(Community.id)).scalars()]
        staff = str(
            db.session.execute(select(User.id).where(User.username == "promotor")).scalar_one()
        )
        families = db.session.scalar(select(func.count(Family.id)))
        deliveries = db.session.scalar(select(func.count(Delivery.id)))
    if args.rebuild:
        from fieldapp.dashboard.rollups import mark_all_dirty

        with app.app_context():
            mark_all_dirty()
            db.session.commit()
    client = login(app)
    started = time.perf_counter()
    timed_get(client, "/dashboard/", {"from": "2026-01", "to": "2026-10"})
    first_view_s = time.perf_counter() - started

    mix = [{"from": a, "to": b} for a, b in PERIODS]
    mix += [
        {"from": "2026-01", "to": "2026-10", "community": c}
        for c in rng.sample(communities, min(4, len(communities)))
    ]
    cold = [timed_get(client, "/dashboard/", q) for q in mix]
    CPU_MS.clear()
    warm = [timed_get(client, "/dashboard/", q) for _ in range(args.rounds) for q in mix]
    warm_cpu = list(CPU_MS)
    staff_mix = [
        {"from": "2026-01", "to": "2026-10", "staff": staff},
        {"from": "2026-07", "to": "2026-09", "staff": staff},
    ]
    staff_cold = [timed_get(client, "/dashboard/", q) for q in staff_mix]
    CPU_MS.clear()
    staff_times = [timed_get(client, "/dashboard/", q) for _ in range(3) for q in staff_mix]
    staff_cpu = list(CPU_MS)

    server_before = server_cpu(app)
    rss_before = rss_mb()
    peak_reset = reset_peak_rss()
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(
        "/dashboard/export/deliveries.csv",
        query_string={"from": "2000-01", "to": "2100-12"},
        buffered=False,
    )
    size = rows = 0
    for chunk in response.response:
        size += len(chunk)
        rows += chunk.count(b"\r\n")
    response.close()
    export_s = time.perf_counter() - started
    export_cpu_s = time.process_time() - cpu
    peak = rss_mb("VmHWM") if peak_reset else rss_mb()
    server_after = server_cpu(app)
    server_s = sum(t - server_before.get(pid, 0.0) for pid, t in server_after.items())
    return {
        "database": database,
        "scale": args.scale,
        "families": families,
        "deliveries": deliveries,
        "first_view_s": round(first_view_s, 2),
        "dashboard_cold_max_ms": round(max(cold), 1),
        "dashboard_p50_ms": round(statistics.median(warm), 1),
        "dashboard_p95_ms": round(p95(warm), 1),
        "dashboard_requests": len(warm),
        "dashboard_p95_cpu_ms": round(p95(warm_cpu), 1),
        "dashboard_staff_cold_max_ms": round(max(staff_cold), 1),
        "dashboard_staff_p95_ms": round(p95(staff_times), 1),
        "dashboard_staff_p95_cpu_ms": round(p95(staff_cpu), 1),
        "export_csv_s": round(export_s, 2),
        "export_csv_cpu_s": round(export_cpu_s, 2),
        "export_db_cpu_s": round(server_s, 2) if server_after else None,
        "export_load_average_1m": round(load_before, 2),
        "export_csv_rows": rows - 1,
        "export_csv_mb": round(size / 1e6, 1),
        "export_rss_before_mb": round(rss_before, 1),
        "export_peak_rss_mb": round(peak, 1),
        "export_rss_growth_mb": round(peak - rss_before, 1),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,033 families")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds over the page mix")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the generated database for the next run (and reuse it)",
    )
    parser.add_argument("--rebuild", action="store_true",
                        help="mark every summary out of date first (a reused database then "
                             "measures the first view's full rebuild again)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
