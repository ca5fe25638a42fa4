"""Central under load, with Locust: field nodes on a sync day, coordinators, phones at /verify.

    python benchmarks/load.py --scale 1 --nodes 200 --coordinators 20 [--json]

Central runs as deployed: PostgreSQL (a database of this run's own, dropped at the end) under
gunicorn's ``sync`` workers (``--workers``). It is filled by a full field node's initial push of
the demo program at ``--scale``; then ``--nodes`` nodes are registered and enrolled, each serving
one community (round robin) with its cursor at the end of the log, as a node that synced
yesterday. The load generator (Locust, headless, in a process of its own on the same machine)
then runs two phases:

1. **Sync day**: every node does what a node does after a day's work — a handshake, a push of
   about 1% of its scope (updates of its community's families: each node its own share, as the
   promotores of one community visit different families), a pull of every page of what changed
   in its scope — while ``--coordinators`` coordinators browse the dashboard and download the
   deliveries export, for ``--minutes`` (the nodes all start at once and stop once synced;
   ``nodes_all_synced_s`` is the time from the first handshake to the last pull page).
2. **Verification**: ``--phones`` users with no pause open ``/verify`` pages of signed
   agreements for ``--verify-seconds``.

Afterwards the figures are checked against what the nodes sent: every operation applied exactly
once (one change-log entry per operation number of each node, the family holding the value the
node sent last), nothing refused. Reported: the sync day's wall time, errors, per-request p50/p95
(handshake, push page, pull page, dashboard, export), /verify requests per second, and the CPU
seconds of central's workers, PostgreSQL and the load generator (the machine's split).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._harness import (  # noqa: E402
    PG_ADMIN,
    app_config,
    cpu_seconds_of,
    field_node_database,
    gunicorn_children,
    install_dashboard_triggers,
)

PASSWORD = "load-test-coordinator"  # noqa: S105 - accounts of a throw-away database


def postgres_cpu_seconds() -> float:
    """CPU seconds of every PostgreSQL process (the server's share of the machine)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name.startswith("postgres"):
                total += cpu_seconds_of(int(entry.name))
    return total


def create_database() -> tuple[str, str]:
    import psycopg

    name = f"fieldapp_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill_central(central: Any, url: str, work: Path, args: argparse.Namespace,
                 log: Any) -> None:
    """Central holds the demo program, pushed by a full field node (as in benchmarks/sync.py)."""
    from fieldapp import create_app
    from fieldapp.extensions import db
    from fieldapp.nodes.operations import register_node
    from sync.node.client import sync_once
    from sync.node.transport import enrol

    source = field_node_database(args.scale, args.seed, log)
    with central.app_context():
        _node, code = register_node("Nodo de referencia", "BEN", (), all_communities=True,
                                    node_id=uuid.uuid5(uuid.NAMESPACE_DNS, "BEN"),
                                    issued_code=True)
        db.session.commit()
    folder = work / "reference"
    folder.mkdir()
    shutil.copy(source, folder / "fieldapp.sqlite")
    node = create_app(app_config(folder, "BEN", ROLE="field", AUTO_MIGRATE=False))
    with node.app_context():
        enrol(node.extensions["sync"], url, code)
        report = sync_once(node.extensions["sync"])
        db.engine.dispose()
    log(f"central filled: {report.pushed:,} operations pushed by the reference node")


def plan_day(central: Any, url: str, args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Register and enrol the nodes, write each one's day of work, make the coordinators."""
    import requests
    from sqlalchemy import func, select

    from fieldapp import __version__
    from fieldapp.agreements.models import Agreement
    from fieldapp.auth.operations import create_user
    from fieldapp.communities.models import Community
    from fieldapp.extensions import db
    from fieldapp.families.models import Family
    from fieldapp.instance import CODE_ALPHABET
    from fieldapp.nodes.operations import register_node
    from fieldapp.nodes.syncing import schema_version
    from sync.central.feed import horizon
    from sync.state import PROTOCOL_VERSION

    rng = random.Random(args.seed)
    codes = ("".join(c) for c in itertools.product(CODE_ALPHABET, repeat=3))
    now = datetime.now(UTC).isoformat()
    with central.app_context():
        state = central.extensions["sync"]
        communities = list(db.session.scalars(
            select(Community.id).where(Community.voided.is_(False)).order_by(Community.code)))
        families: dict[Any, list[Any]] = {c: [] for c in communities}
        for row in db.session.execute(select(Family.id, Family.community_id, Family.version,
                                             Family.phone)
                                      .where(Family.voided.is_(False))):
            families.setdefault(row.community_id, []).append(row)
        serving = [communities[n % len(communities)] for n in range(args.nodes)]
        records = db.session.scalar(select(func.count()).select_from(state.tables.changes))
        sharing = {c: serving.count(c) for c in communities}
        nodes = []
        for n, community in enumerate(serving):
            code = next(c for c in codes if c not in ("BEN", "CEN"))
            node_id = uuid.uuid5(uuid.NAMESPACE_DNS, f"load-{code}")
            _node, enrol_code = register_node(f"Nodo {code}", code, [community],
                                              node_id=node_id, issued_code=True)
            # A day's work: about 1% of the records of its scope (the community's share of the
            # program), as updates of the families it visits: its own share of the community's
            # families (the promotores of one community visit different ones), several
            # changes each when the day brings more changes than families.
            share = families[community][n // len(communities)::sharing[community]]
            count = max(1, round(records * args.share / len(communities)))
            ops = []
            version = {f.id: f.version for f in share}
            phone = {f.id: f.phone for f in share}
            for k in range(count):
                family = share[k % len(share)] if share else None
                if family is None:
                    break
                new = f"9{rng.randrange(10**8):08d}"
                ops.append({"t": "families", "i": str(family.id), "o": "u", "a": now,
                            "v": version[family.id] + 1, "bv": version[family.id],
                            "d": {"phone": new, "updated_at": now},
                            "p": {"phone": phone[family.id]}})  # the base: what the node had
                version[family.id] += 1
                phone[family.id] = new
            nodes.append({"code": code, "id": str(node_id), "enrol": enrol_code,
                          "community": str(community), "ops": ops})
        for n in range(max(1, args.coordinators)):
            create_user(f"coordinadora{n}", f"Coordinadora {n}", PASSWORD, "coordinator", ())
        verify = [[str(a.id), a.content_hash] for a in db.session.scalars(
            select(Agreement).where(Agreement.status.in_(("signed", "active")),
                                    Agreement.content_hash.is_not(None)).limit(2000))]
        db.session.commit()
        cursor = horizon(state, db.session)
        schema = schema_version(db.session)
        db.session.rollback()
    for node in nodes:  # enrolled over HTTP, as `fieldapp node enroll` does
        answer = requests.post(f"{url}/sync/v1/enroll", timeout=60, json={
            "code": node.pop("enrol"), "app": __version__, "schema": schema})
        answer.raise_for_status()
        node["secret"] = answer.json()["secret"]
        node["cursor"] = cursor
    log(f"{len(nodes)} nodes enrolled over {len(communities)} communities; "
        f"{sum(len(n['ops']) for n in nodes):,} operations to push; "
        f"{len(verify)} agreements to verify")
    return {"protocol": PROTOCOL_VERSION, "schema": schema, "app": __version__, "time": now,
            "page_ops": args.page_ops, "nodes": nodes, "password": PASSWORD,
            "coordinators": [f"coordinadora{n}" for n in range(max(1, args.coordinators))],
            "verify": verify}


def run_locust(url: str, plan_file: Path, work: Path, name: str, classes: list[str],
               users: int, seconds: float, env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """Run Locust headless; its per-request statistics (from its CSV) and the wall time."""
    prefix = work / name
    started = time.perf_counter()
    process = subprocess.run(  # noqa: S603 - our interpreter, Locust, our own files
        [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
         "--headless", "--host", url, "--users", str(users), "--spawn-rate", str(users),
         "--run-time", f"{int(seconds)}s", "--stop-timeout", "60", "--csv", str(prefix),
         "--only-summary", "--loglevel", "WARNING", *classes],
        cwd=ROOT, env={**os.environ, "FIELDAPP_LOAD_PLAN": str(plan_file), **env},
        capture_output=True, text=True)
    wall = time.perf_counter() - started
    table = Path(f"{prefix}_stats.csv")
    if process.returncode not in (0, 1) or not table.exists():  # 1: some requests failed
        raise RuntimeError(f"locust failed ({process.returncode}):\n{process.stderr[-3000:]}")
    with table.open(newline="") as fh:
        stats = {row["Name"]: row for row in csv.DictReader(fh)}
    return stats, wall


def figures(stats: dict[str, Any], name: str) -> dict[str, Any]:
    row = stats.get(name)
    if row is None:
        return {}
    key = name.split(" ")[0].replace(".", "_")
    return {f"{key}_requests": int(row["Request Count"]),
            f"{key}_errors": int(row["Failure Count"]),
            f"{key}_p50_ms": float(row["50%"]), f"{key}_p95_ms": float(row["95%"])}


def check_nothing_lost(central: Any, plan: dict[str, Any],
                       outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Every operation the nodes sent applied exactly once; each family holds the last value."""
    from sqlalchemy import func, select

    from fieldapp.extensions import db
    from fieldapp.families.models import Family

    with central.app_context():
        ch = central.extensions["sync"].tables.changes
        applied = dict(db.session.execute(
            select(ch.c.node_id, func.count()).where(ch.c.node_id.is_not(None))
            .group_by(ch.c.node_id)).all())
        lost = duplicated = wrong = 0
        last: dict[str, str] = {}
        for node in plan["nodes"]:
            count = applied.get(uuid.UUID(node["id"]), 0)
            lost += max(0, len(node["ops"]) - count)
            duplicated += max(0, count - len(node["ops"]))
            for op in node["ops"]:
                last[op["i"]] = op["d"]["phone"]
        phones = dict(db.session.execute(
            select(Family.id, Family.phone).where(Family.id.in_([uuid.UUID(i) for i in last])))
            .all())
        wrong = sum(1 for i, phone in last.items() if phones.get(uuid.UUID(i)) != phone)
        db.session.rollback()
    started = [o["started"] for o in outcomes if "started" in o]
    finished = [o["finished"] for o in outcomes if "finished" in o]
    return {"nodes_synced": sum(1 for o in outcomes if o["ok"]),
            # From the first node's handshake to the last node's last pull page.
            "nodes_all_synced_s": round(max(finished) - min(started), 1) if finished else None,
            "operations_sent": sum(len(n["ops"]) for n in plan["nodes"]),
            "operations_lost": lost, "operations_duplicated": duplicated,
            "families_with_wrong_value": wrong,
            "operations_refused": sum(o["rejected"] for o in outcomes),
            "conflicts": sum(o["conflicts"] for o in outcomes),
            "pull_pages": sum(o["pull_pages"] for o in outcomes),
            "pulled_rows": sum(o["pulled_rows"] for o in outcomes)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--nodes", type=int, default=200)
    p.add_argument("--coordinators", type=int, default=20)
    p.add_argument("--phones", type=int, default=20, help="/verify users (no pause)")
    p.add_argument("--verify-seconds", type=float, default=30)
    p.add_argument("--share", type=float, default=0.01, help="a node's day: this share of the "
                   "records of its scope (one community's part of the program) changed")
    p.add_argument("--page-ops", type=int, default=2500, help="operations per push page")
    p.add_argument("--workers", type=int, default=4, help="central's gunicorn sync workers")
    p.add_argument("--minutes", type=float, default=3, help="length of the sync day phase "
                   "(coordinators browse for all of it; nodes stop once synced)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr if args.json else sys.stdout, flush=True)

    from fieldapp import create_app
    from fieldapp.extensions import db
    from testing.servers import Gunicorn

    work = Path(tempfile.mkdtemp(prefix="fieldapp-load-"))
    name, central_url = create_database()
    gunicorn = None
    results: dict[str, Any] = {"scale": args.scale, "nodes": args.nodes,
                               "coordinators": args.coordinators, "workers": args.workers}
    try:
        central_dir = work / "central"
        central_dir.mkdir()
        central = create_app(app_config(central_dir, "CEN", ROLE="central",
                                        SQLALCHEMY_DATABASE_URI=central_url))
        install_dashboard_triggers(central)
        env = {
            "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(central_dir),
            "FIELDAPP_SQLALCHEMY_DATABASE_URI": central_url, "FIELDAPP_SECRET_KEY": "load",
            "FIELDAPP_AUTO_MIGRATE": "false", "FIELDAPP_NODE_ID": central.config["NODE_ID"],
            "FIELDAPP_NODE_CODE": central.config["NODE_CODE"],
            # Phones come from many addresses; here all come from one.
            "FIELDAPP_VERIFY_RATE_LIMIT": "1000000000",
        }
        gunicorn = Gunicorn(env, workers=args.workers, worker_class="sync", threads=1)
        fill_central(central, gunicorn.url, work, args, log)
        plan = plan_day(central, gunicorn.url, args, log)
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan))
        outcomes_file = work / "outcomes.json"

        def cpu() -> dict[str, float]:
            children = resource.getrusage(resource.RUSAGE_CHILDREN)  # Locust, once it ended
            return {"central": sum(cpu_seconds_of(w) for w in
                                   gunicorn_children(gunicorn.process.pid)),
                    "postgres": postgres_cpu_seconds(),
                    "load_generator": children.ru_utime + children.ru_stime}

        before = cpu()
        log(f"sync day: {args.nodes} nodes, {args.coordinators} coordinators")
        stats, wall = run_locust(
            gunicorn.url, plan_file, work, "day",
            ["NodeUser", *(["CoordinatorUser"] if args.coordinators else [])],
            args.nodes + args.coordinators, args.minutes * 60,
            {"FIELDAPP_LOAD_COORDINATORS": str(args.coordinators),
             "FIELDAPP_LOAD_NODES": str(args.nodes),
             "FIELDAPP_LOAD_RESULTS": str(outcomes_file)})
        after = cpu()
        outcomes = json.loads(outcomes_file.read_text()) if outcomes_file.exists() else []
        results["sync_day_s"] = round(wall, 1)
        for request in ("handshake", "push", "pull", "login", "dashboard",
                        "export deliveries.csv"):
            results.update(figures(stats, request))
        aggregated = stats.get("Aggregated", {})
        results["errors"] = int(aggregated.get("Failure Count", 0))
        results["cpu_s"] = {k: round(after[k] - before[k], 1) for k in before}
        results.update(check_nothing_lost(central, plan, outcomes))
        log(json.dumps(results, indent=1))

        log(f"verification: {args.phones} phones for {args.verify_seconds:g} s")
        stats, wall = run_locust(gunicorn.url, plan_file, work, "verify", ["VerifyUser"],
                                 args.phones, args.verify_seconds,
                                 {"FIELDAPP_LOAD_PHONES": str(args.phones)})
        results.update(figures(stats, "verify"))
        row = stats.get("verify")
        if row is not None:
            results["verify_per_s"] = round(float(row["Requests/s"]), 1)
        with central.app_context():
            db.engine.dispose()
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        drop_database(name)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
    else:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("FIELDAPP_ROLE", "field")
    sys.exit(main())
