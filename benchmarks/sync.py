"""Sync benchmark: a full field node, an empty central, over loopback through a counting proxy.

    python benchmarks/sync.py --scale 1 [--json] [--central-db postgresql+psycopg://...]

Central holds the dashboard's triggers, as it does once a coordinator has opened the dashboard
(on SQLite a row trigger marks the community of every record written, pushed ones included).
Central runs under gunicorn (``--workers``, gunicorn's ``sync`` workers as in the README's
deployment: one request at a time each, so the page a node sends ahead is read by an idle
worker while the page before it is applied) on SQLite (default) or the given database; the
field nodes run in this process. Bytes are counted on the wire (HTTP headers included) by a TCP
proxy between node and central, in both directions. Measured:

- initial push of a full field node (the demo program at ``--scale``) to an empty central;
- initial pull into an empty node (enrolled for every community);
- a sync with nothing to do;
- a sync after 1% of the records changed (half on the node, half on central).

The gzip floor is the gzip size (level 6) of the same records as JSON (one object per record,
as the tables hold them); the ratios compare the bytes on the wire with it. ``--json`` ends the
output with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._harness import (  # noqa: E402
    app_config,
    cpu_seconds_of,
    field_node_database,
    gunicorn_children,
    install_dashboard_triggers,
    peak_rss_mb,
)


def gzip_floor(app: Any) -> tuple[int, int, int]:
    """(records, JSON bytes, gzip bytes) of every synced record of ``app`` as JSON objects: a
    JSON list per table, the lists one per line, gzip level 6.

    Read and compressed a batch at a time, so that the node process's peak memory is the
    sync's, not this count's (holding the JSON whole took 1 GB of it at scale 10).
    """
    from sqlalchemy import select

    from fieldapp.extensions import db

    state = app.extensions["sync"]
    records = raw = size = 0
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip, as gzip.compress writes it
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def put(data: bytes) -> None:
        nonlocal raw, size
        raw += len(data)
        size += len(deflate.compress(data))

    with app.app_context():
        for n, spec in enumerate(state.registry.specs.values()):
            codec = spec.codec
            put(b"\n[" if n else b"[")
            result = db.session.execute(select(spec.table).execution_options(yield_per=5000))
            for batch, rows in enumerate(result.partitions()):
                put((b"," if batch else b"") + ",".join(
                    encode(codec.encode_row(r._mapping, codec.columns)) for r in rows).encode())
                records += len(rows)
            put(b"]")
        db.session.rollback()
    size += len(deflate.flush())
    return records, raw, size


def change_one_percent(app: Any, share: float, rng: random.Random, note: str) -> int:
    """Change ``share`` of all records through the ORM (fields each kind allows to change)."""
    from sqlalchemy import func, select

    from fieldapp.compliance.models import ComplianceVisit, VisitFinding
    from fieldapp.extensions import db
    from fieldapp.families.models import Family
    from fieldapp.trainings.models import Attendance

    state = app.extensions["sync"]
    with app.app_context():
        total = sum(db.session.scalar(select(func.count()).select_from(s.table))
                    for s in state.registry.specs.values())
        wanted = max(1, round(total * share))
        pools = []
        for model, field in ((VisitFinding, "notes"), (Attendance, "attendee_name"),
                             (ComplianceVisit, "notes"), (Family, "notes")):
            ids = db.session.execute(select(model.id)).scalars().all()
            pools.append((model, field, ids))
        weights = [len(ids) for _m, _f, ids in pools]
        changed = 0
        for _ in range(wanted):
            model, field, ids = rng.choices(pools, weights)[0]
            obj = db.session.get(model, rng.choice(ids))
            setattr(obj, field, f"{note} {rng.randint(0, 10**6)}")
            changed += 1
            if changed % 200 == 0:
                db.session.commit()
        db.session.commit()
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--central-db", default=None,
                        help="central's SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for central")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"),
                        help="gunicorn worker class (gthread: 4 threads each)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr if args.json else sys.stdout, flush=True)

    from fieldapp import create_app
    from fieldapp.extensions import db
    from sync.node.client import sync_once
    from sync.node.transport import enrol
    from testing.servers import Gunicorn, LinkProxy

    source = field_node_database(args.scale, args.seed, log)
    work = Path(tempfile.mkdtemp(prefix="fieldapp-bench-"))
    results: dict[str, Any] = {"scale": args.scale}
    gunicorn = proxy = None
    try:
        # Central: migrated, two nodes registered for every community.
        central_dir = work / "central"
        central_dir.mkdir()
        central_url = args.central_db or f"sqlite:///{central_dir / 'fieldapp.sqlite'}"
        central = create_app(app_config(central_dir, "CEN", ROLE="central",
                                     SQLALCHEMY_DATABASE_URI=central_url))
        from fieldapp.nodes.operations import register_node

        with central.app_context():
            # Under the ids their records carry (app_config): central checks origins.
            _a, code_a = register_node("Nodo de referencia", "BEN", (), all_communities=True,
                                       node_id=uuid.uuid5(uuid.NAMESPACE_DNS, "BEN"),
                                       issued_code=True)
            _b, code_b = register_node("Nodo nuevo", "NEW", (), all_communities=True,
                                       node_id=uuid.uuid5(uuid.NAMESPACE_DNS, "NEW"),
                                       issued_code=True)
            db.session.commit()
        install_dashboard_triggers(central)
        env = {
            "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(central_dir),
            "FIELDAPP_SQLALCHEMY_DATABASE_URI": central_url, "FIELDAPP_SECRET_KEY": "bench",
            "FIELDAPP_AUTO_MIGRATE": "false",
        }
        gunicorn = Gunicorn(env, workers=args.workers, worker_class=args.worker_class,
                            threads=4 if args.worker_class == "gthread" else 1)
        proxy = LinkProxy(gunicorn.port)

        # Node A: the full field node.
        a_dir = work / "node-a"
        a_dir.mkdir()
        shutil.copy(source, a_dir / "fieldapp.sqlite")
        if source.parent.name.startswith("fieldapp-bench-"):  # a copy of the shared cache
            shutil.rmtree(source.parent, ignore_errors=True)
        node_a = create_app(app_config(a_dir, "BEN", ROLE="field", AUTO_MIGRATE=False))
        records, raw_json, floor = gzip_floor(node_a)
        results.update(records=records, json_bytes=raw_json, gzip_floor_bytes=floor)
        log(f"{records:,} records; as JSON {raw_json:,} bytes, gzip {floor:,} bytes")
        with node_a.app_context():
            enrol(node_a.extensions["sync"], proxy.url, code_a)

        def central_cpu() -> float:
            return sum(cpu_seconds_of(p) for p in gunicorn_children(gunicorn.process.pid))

        def measure(name: str, app: Any) -> dict[str, Any]:
            proxy.reset_counts()
            cpu_central = central_cpu()
            cpu_node = time.process_time()
            started = time.perf_counter()
            with app.app_context():
                report = sync_once(app.extensions["sync"])
            seconds = time.perf_counter() - started
            cpu_node = time.process_time() - cpu_node
            cpu_central = central_cpu() - cpu_central
            figures = {
                f"{name}_s": round(seconds, 3),
                f"{name}_requests": report.requests,
                f"{name}_bytes": proxy.up + proxy.down,
                f"{name}_bytes_up": proxy.up,
                f"{name}_bytes_down": proxy.down,
                f"{name}_cpu_node_s": round(cpu_node, 3),
                f"{name}_cpu_central_s": round(cpu_central, 3),
            }
            log(f"{name:>12}: {seconds:7.2f} s, {report.requests:4d} requests, "
                f"{proxy.up:>11,} B up, {proxy.down:>11,} B down "
                f"(pushed {report.pushed:,}, pulled {report.pulled:,}, refused {report.rejected}; "
                f"CPU node {cpu_node:.2f} s, central {cpu_central:.2f} s)")
            return figures

        results.update(measure("initial_push", node_a))
        b_dir = work / "node-b"
        b_dir.mkdir()
        node_b = create_app(app_config(b_dir, "NEW", ROLE="field"))
        with node_b.app_context():
            enrol(node_b.extensions["sync"], proxy.url, code_b)
        results.update(measure("initial_pull", node_b))
        results.update(measure("noop", node_a))
        rng = random.Random(args.seed)
        results["one_percent_changed"] = (
            change_one_percent(node_a, 0.005, rng, "nodo")
            + change_one_percent(central, 0.005, rng, "central"))
        results.update(measure("one_percent", node_a))
        results["push_ratio_to_gzip_floor"] = round(results["initial_push_bytes"] / floor, 3)
        results["pull_ratio_to_gzip_floor"] = round(results["initial_pull_bytes"] / floor, 3)
        results["records_per_s_push"] = round(records / results["initial_push_s"])
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        results["central_peak_rss_mb"] = round(
            max([peak_rss_mb(p) for p in gunicorn_children(gunicorn.process.pid)] or [0]), 1)
        log(f"bytes on the wire / gzip floor: push {results['push_ratio_to_gzip_floor']}, "
            f"pull {results['pull_ratio_to_gzip_floor']}")
        log(f"peak RSS: node process {results['peak_rss_mb']} MB, central worker "
            f"{results['central_peak_rss_mb']} MB")
        for app in (node_a, node_b, central):
            with app.app_context():
                db.engine.dispose()
    finally:
        if proxy is not None:
            proxy.close()
        if gunicorn is not None:
            gunicorn.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("FIELDAPP_ROLE", "field")
    sys.exit(main())
