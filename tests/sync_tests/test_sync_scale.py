"""Randomised convergence with partitions and restarts; 20 nodes at once under gunicorn."""

from __future__ import annotations

import random
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import empty_pg
from synckit import Central, Node, assert_converged, node_config

from fieldapp import create_app
from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession
from sync import errors
from testing.servers import Gunicorn, LinkProxy

SEED = 20261031


@pytest.mark.slow
def test_random_edits_partitions_and_restarts_converge(central, make_node):  # noqa: C901 - a script of random steps
    rng = random.Random(SEED)  # noqa: S311 - seeded test data
    communities = {code: central.add_community(code) for code in ("C1", "C2", "C3")}
    scopes = {"AAA": ("C1", "C2"), "BBB": ("C2", "C3"), "CCC": ("C1", "C3")}
    proxies = {code: LinkProxy(central.server.port) for code in scopes}
    nodes: dict[str, Node] = {}
    try:
        for code, scope in scopes.items():
            node = make_node(code, SYNC_PUSH_PAGE_OPS=7, SYNC_PULL_PAGE_ROWS=9)
            node.enrol(central, communities=scope, url=proxies[code].url)
            node.sync()
            nodes[code] = node
        down: set[str] = set()
        counter = iter(range(10_000))
        deadline = time.monotonic() + 8
        steps = 0
        while steps < 90 and time.monotonic() < deadline:
            steps += 1
            code = rng.choice(sorted(nodes))
            node = nodes[code]
            action = rng.choices(
                ["family", "edit", "session", "attend", "sync", "partition", "restart",
                 "central"], [4, 8, 1, 3, 5, 1, 1, 2])[0]
            if action == "family":
                community = communities[rng.choice(scopes[code])]
                node.add_family(community, head_given_names=f"P{next(counter)}")
            elif action == "edit":
                families = [f for f in node.rows(Family).values()]
                if families:
                    family = rng.choice(families)
                    field, value = rng.choice([
                        ("phone", f"9{rng.randint(10**7, 10**8 - 1)}"),
                        ("notes", rng.choice(["sequía", "visitada", "mudanza", None])),
                        ("members_count", rng.randint(1, 9)),
                        ("plot_name", rng.choice(["La Loma", "El Bajo", "Quebrada"])),
                        ("voided", rng.random() < 0.2),
                    ])
                    node.edit(Family, family["id"], **{field: value})
            elif action == "session":
                community = communities[rng.choice(scopes[code])]
                node.add(TrainingSession, code=f"AM-T-{code}-{next(counter):04d}",
                         held_on=date(2026, 5, rng.randint(1, 28)), topic="Poda",
                         community_id=community, trainer_name="Wilmer",
                         duration_hours=Decimal("2.0"))
            elif action == "attend":
                sessions = list(node.rows(TrainingSession).values())
                families = list(node.rows(Family).values())
                if sessions and families:
                    s, f = rng.choice(sessions), rng.choice(families)
                    have = {(r["session_id"], r["family_id"])
                            for r in node.rows(Attendance).values()}
                    if (s["id"], f["id"]) not in have:
                        node.add(Attendance, session_id=s["id"], family_id=f["id"])
            elif action == "sync":
                try:
                    node.sync()
                except errors.SyncError:
                    assert code in down
            elif action == "partition":
                if code in down:
                    down.discard(code)
                else:
                    down.add(code)
                proxies[code].set_down(code in down)
            elif action == "restart":
                node.restart()
            elif action == "central":
                families = list(central.rows(Family).values())
                if families:
                    central.edit(Family, rng.choice(families)["id"],
                                 notes=f"oficina {next(counter)}")
        for proxy in proxies.values():
            proxy.set_down(False)
        for _round in range(2):
            for node in nodes.values():
                assert node.sync().ok
        for node in nodes.values():
            assert node.status()["pending"] == 0
            assert_converged(central, node)
        assert steps >= 30
    finally:
        for proxy in proxies.values():
            proxy.close()


@pytest.mark.slow
def test_twenty_nodes_sync_at_once_against_gunicorn_on_postgresql(  # noqa: C901 - one scenario
        pg_database: str, tmp_path: Path, migrated_db: Path):
    import shutil

    instance = tmp_path / "central"
    instance.mkdir()
    app = create_app(node_config(instance, "CEN", ROLE="central",
                                 SQLALCHEMY_DATABASE_URI=pg_database))
    empty_pg(app)
    with app.app_context():
        for i in range(21):
            db.session.add(Community(code=f"C{i:02d}", name=f"Comunidad {i:02d}"))
        db.session.commit()
        shared = db.session.execute(db.select(Community.id).where(Community.code == "C00")
                                    ).scalar_one()
    server = Gunicorn({
        "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(instance),
        "FIELDAPP_SQLALCHEMY_DATABASE_URI": pg_database, "FIELDAPP_SECRET_KEY": "test",
        "FIELDAPP_AUTO_MIGRATE": "false",
    }, workers=3, threads=4)
    central = Central(app, SimpleNamespace(url=server.url, port=server.port), "postgres")
    nodes: list[Node] = []
    try:
        for i in range(1, 21):
            code = f"N{i:02d}"
            folder = tmp_path / code
            folder.mkdir()
            shutil.copy(migrated_db, folder / "fieldapp.sqlite")
            node = Node(create_app(node_config(folder, code, ROLE="field")), code)
            node.enrol(central, communities=(f"C{i:02d}", "C00"))
            nodes.append(node)
        for node in nodes:
            node.sync()  # communities
        ops = 0
        for i, node in enumerate(nodes, start=1):
            own = [c for c in node.rows(Community).values() if c["code"] == f"C{i:02d}"][0]
            node.add_families(own["id"], [{"head_given_names": f"F{i}-{k}"} for k in range(20)])
            shared_families = node.add_families(shared, [{"head_given_names": f"S{i}-{k}"}
                                                         for k in range(5)])
            session = node.add(TrainingSession, code=f"AM-T-{node.code}-0001",
                               held_on=date(2026, 6, 1), topic="Abonos orgánicos",
                               community_id=shared, trainer_name="Nilda",
                               duration_hours=Decimal("3.0"))
            for family in shared_families:
                node.add(Attendance, session_id=session, family_id=family)
            ops += node.status()["pending"]
        failures: list[BaseException] = []

        def run(node: Node) -> None:
            try:
                node.sync()
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)

        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        seconds = time.perf_counter() - started
        assert not failures, failures
        print(f"\n20 nodes pushed {ops} operations in {seconds:.2f} s: "
              f"{ops / seconds:.0f} records/s sustained by central")
        threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures
        assert central.count(Family) == 20 * 25
        assert central.count(Attendance) == 20 * 5
        for node in nodes:
            assert node.count(Family) == 20 + 20 * 5
            assert node.status()["pending"] == 0
            assert_converged(central, node)
    finally:
        server.stop()
        for node in nodes:
            with node.app.app_context():
                db.engine.dispose()
        with app.app_context():
            db.engine.dispose()
