"""A new field node's initial pull of one community from a large central.

    python benchmarks/dashboard.py --scale 100 --database postgresql --reuse   # fills it once
    python benchmarks/scoped_pull.py \
        --central-db postgresql+psycopg://postgres@127.0.0.1:5432/fieldapp_bench_s100 --json

Central (an existing database: the demo program at scale 100 is 103,300 families and some
8.6 million records, of which one community holds about 1/2500) runs under gunicorn as deployed
(``--workers`` sync workers). A node is registered for one community (``--community``, default
the one with the most families), an empty field node enrols and syncs once: the time of that
sync (``scoped_pull_s``: handshake and every pull page, applied and committed on the node), the
records pulled, the requests and the node's peak memory. The registered node is revoked at the
end (central's database is otherwise left as it was). The last line (``--json``) is one JSON
object of these figures. Budget (issue 31): ≤ 5 s at scale 100.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._harness import app_config  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--central-db", required=True, help="central's database URL")
    parser.add_argument("--community", default=None, help="the community's code")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for central")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    args = parser.parse_args()

    from sqlalchemy import func, select, text

    from fieldapp import create_app
    from fieldapp.communities.models import Community
    from fieldapp.extensions import db
    from fieldapp.families.models import Family
    from fieldapp.nodes.models import Node
    from fieldapp.nodes.operations import register_node, revoke_node, suggest_node_code
    from sync.node.client import sync_once
    from sync.node.transport import enrol
    from testing.servers import Gunicorn

    work = Path(tempfile.mkdtemp(prefix="fieldapp-bench-"))
    gunicorn = None
    results: dict[str, Any] = {}
    central_dir = work / "central"
    central_dir.mkdir()
    central = create_app(app_config(central_dir, "CEN", ROLE="central", AUTO_MIGRATE=False,
                                    SQLALCHEMY_DATABASE_URI=args.central_db))
    try:
        with central.app_context():
            families = func.count(Family.id)
            query = (select(Community.id, Community.code, families)
                     .join(Family, Family.community_id == Community.id)
                     .group_by(Community.id, Community.code).order_by(families.desc()))
            if args.community:
                query = query.where(Community.code == args.community)
            community_id, code, count = db.session.execute(query.limit(1)).one()
            node, enrol_code = register_node("Nodo de medida", suggest_node_code(),
                                             [community_id], issued_code=True)
            node_id = node.id
            db.session.commit()
        results.update(community=code, community_families=count)
        env = {
            "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(central_dir),
            "FIELDAPP_SQLALCHEMY_DATABASE_URI": args.central_db, "FIELDAPP_SECRET_KEY": "bench",
            "FIELDAPP_AUTO_MIGRATE": "false",
        }
        gunicorn = Gunicorn(env, workers=args.workers, threads=1)
        node_dir = work / "node"
        node_dir.mkdir()
        field = create_app(app_config(node_dir, "MED", ROLE="field"))
        with field.app_context():
            state = field.extensions["sync"]
            enrol(state, f"http://127.0.0.1:{gunicorn.port}", enrol_code)
            started = time.perf_counter()
            try:
                report = sync_once(state)
            except Exception as error:  # noqa: BLE001 - reported with what the node holds
                print(repr(error), file=sys.stderr)
                for row in db.session.execute(text(
                        "SELECT table_name, code, message FROM sync_quarantine LIMIT 5")):
                    print(tuple(row), file=sys.stderr)
                raise
            seconds = time.perf_counter() - started
        with field.app_context():
            held = [tuple(r) for r in db.session.execute(text(
                "SELECT table_name, code, count(*) FROM sync_quarantine GROUP BY 1, 2"))]
        results.update(scoped_pull_s=round(seconds, 2), records_pulled=report.pulled,
                       records_held=report.failed, held_by_reason=held,
                       requests=report.requests,
                       node_peak_rss_mb=round(
                           resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
        with field.app_context():
            db.engine.dispose()
        with central.app_context():
            revoke_node(db.session.get(Node, node_id))
            db.session.commit()
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        with central.app_context():
            db.engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:>20}  {value}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("FIELDAPP_ROLE", "field")
    sys.exit(main())
