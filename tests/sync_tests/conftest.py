"""Two (or more) real apps talking real HTTP: central served on 127.0.0.1:<free port> by
werkzeug in a thread (or gunicorn in a subprocess), field nodes syncing with it.

Central runs on SQLite and on PostgreSQL (``central_backend`` is parametrised): a database with
a random name is created for the test run, emptied between tests and dropped at the end. If the
PostgreSQL server is unreachable the PostgreSQL tests FAIL, they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from synckit import Central, Node, node_config, signed_agreement

from fieldapp import create_app
from fieldapp.agreements.models import Agreement
from fieldapp.extensions import db
from testing.servers import ThreadServer

PG_ADMIN_URL = os.environ.get("FIELDAPP_TEST_PG",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database for this test run (random name), migrated once, dropped at end."""
    import sqlalchemy as sa

    name = f"fieldapp_sync_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # Tests need no durability across a power cut; fsync per commit only slows them.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as error:  # noqa: BLE001 - any failure to reach PostgreSQL fails the tests
        admin.dispose()
        pytest.fail(f"PostgreSQL is unreachable at {PG_ADMIN_URL}: {error}", pytrace=False)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    instance = tmp_path_factory.mktemp("pg-template")
    app = create_app(node_config(instance, "CEN", ROLE="central", AUTO_MIGRATE=True,
                                 SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        db.engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_pg(app: Flask) -> None:
    """Empty every table of central's PostgreSQL database (between tests)."""
    with app.app_context():
        names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.execute(text(
            "INSERT INTO sync_state (key, value) VALUES ('node_seq', 0), ('server_seq', 0), "
            "('cursor', 0), ('acked_seq', 0)"))
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"),
                           {"head": _head()})
        db.session.commit()


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from fieldapp.setup import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.fixture(params=["sqlite", "postgres"])
def central_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_central(request: pytest.FixtureRequest, tmp_path: Path, migrated_db: Path,
                 central_backend: str) -> Iterator[Callable[..., Central]]:
    """Start a central (on the parametrised backend) served over HTTP."""
    made: list[Central] = []

    def factory(**extra: Any) -> Central:
        instance = tmp_path / f"central{len(made)}"
        instance.mkdir()
        config = node_config(instance, "CEN", ROLE="central", **extra)
        if central_backend == "postgres":
            config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("pg_database")
        else:
            shutil.copy(migrated_db, instance / "fieldapp.sqlite")
        app = create_app(config)
        if central_backend == "postgres":
            empty_pg(app)
        central = Central(app, ThreadServer(app, keep_alive=True).start(), central_backend)
        made.append(central)
        return central

    yield factory
    for central in made:
        central.server.stop()
        with central.app.app_context():
            db.engine.dispose()


@pytest.fixture
def central(make_central: Callable[..., Central]) -> Central:
    return make_central()


@pytest.fixture
def make_node(request: pytest.FixtureRequest, tmp_path: Path,
              migrated_db: Path) -> Iterator[Callable[..., Node]]:
    """Make a field node with its own SQLite database (empty, or a copy of the demo)."""
    made: list[Node] = []

    def factory(code: str | None = None, demo: bool = False, **extra: Any) -> Node:
        code = code or f"N{len(made) + 1}"
        instance = tmp_path / f"node-{code}-{len(made)}"
        instance.mkdir()
        source = request.getfixturevalue("demo_db") if demo else migrated_db
        shutil.copy(source, instance / "fieldapp.sqlite")
        app = create_app(node_config(instance, code, ROLE="field", **extra))
        node = Node(app, code, made)
        made.append(node)
        return node

    yield factory
    for node in made:
        with node.app.app_context():
            db.engine.dispose()


@pytest.fixture
def world(central: Central, make_node: Callable[..., Node]) -> dict[str, Any]:
    """Central with communities C1..C3 and two nodes serving C1 (enrolled, synced)."""
    c1 = central.add_community("C1")
    c2 = central.add_community("C2")
    c3 = central.add_community("C3")
    a = make_node("AAA")
    b = make_node("BBB")
    a.enrol(central, communities=("C1",))
    b.enrol(central, communities=("C1",))
    a.sync()
    b.sync()
    return {"central": central, "a": a, "b": b, "c1": c1, "c2": c2, "c3": c3}


@pytest.fixture
def signed(world: dict[str, Any]) -> dict[str, Any]:
    """Node A's family and its signed, then activated, agreement, all on central."""
    a = world["a"]
    family = a.add_family(world["c1"], dni="41234567")
    agreement = signed_agreement(a, family, "AM-2026-AAA-0001")
    a.edit(Agreement, agreement, status="active")
    report = a.sync()
    assert report.rejected == 0
    assert world["central"].get(Agreement, agreement)["status"] == "active"
    return {**world, "family": family, "agreement": agreement}
