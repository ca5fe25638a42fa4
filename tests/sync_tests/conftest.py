"""Two (or more) real apps talking real HTTP: central served on 127.0.0.1:<free port> by
werkzeug in a thread (or gunicorn in a subprocess), field nodes syncing with it.

Central runs on SQLite and on PostgreSQL (``central`` is parametrised): a database with a
random name is created for the test run, emptied between tests and dropped at the end. If the
PostgreSQL server is unreachable the PostgreSQL tests FAIL, they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from fieldapp import create_app
from fieldapp.extensions import db

PG_ADMIN_URL = os.environ.get("FIELDAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class LiveServer:
    """An app served over HTTP/1.1 (keep-alive) on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app: Flask) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Handler(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def node_config(instance: Path, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "NODE_ID": str(uuid.uuid5(uuid.NAMESPACE_DNS, code)),
        "NODE_CODE": code,
        "WTF_CSRF_ENABLED": False,
        "AUTO_MIGRATE": False,
        "SYNC_MIN_BACKOFF": 0.01,
        **extra,
    }


# -- PostgreSQL ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database for this test run (random name), migrated once, dropped at end."""
    import sqlalchemy as sa

    name = f"fieldapp_sync_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
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


def _empty_pg(app: Flask) -> None:
    with app.app_context():
        tables = [t for t in db.metadata.sorted_tables]
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.execute(text(
            "INSERT INTO sync_state (key, value) VALUES ('node_seq', 0), ('server_seq', 0), "
            "('cursor', 0), ('acked_seq', 0)"))
        db.session.commit()


# -- apps ------------------------------------------------------------------------------------
class Central:
    def __init__(self, app: Flask, server: LiveServer, backend: str) -> None:
        self.app = app
        self.server = server
        self.url = server.url
        self.backend = backend

    def register(self, code: str, communities: tuple = (), all_communities: bool = False,
                 name: str | None = None) -> str:
        from fieldapp.nodes.operations import register_node

        with self.app.app_context():
            _node, enrol_code = register_node(name or f"Nodo {code}", code, communities,
                                              all_communities)
            db.session.commit()
        return enrol_code


class Node:
    def __init__(self, app: Flask, code: str) -> None:
        self.app = app
        self.code = code

    @property
    def state(self) -> Any:
        return self.app.extensions["sync"]

    def enrol(self, central: Central, communities: tuple = (), all_communities: bool = False,
              url: str | None = None) -> dict[str, Any]:
        from sync.client import enrol

        enrol_code = central.register(self.code, communities, all_communities)
        with self.app.app_context():
            return enrol(self.state, url or central.url, enrol_code)

    def sync(self) -> Any:
        from sync.client import sync_once

        with self.app.app_context():
            return sync_once(self.state)

    def status(self) -> dict[str, Any]:
        from sync.client import status

        with self.app.app_context():
            return status(self.state)


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
            _empty_pg(app)
        central = Central(app, LiveServer(app), central_backend)
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
def make_node(tmp_path: Path, migrated_db: Path, demo_db: Path) -> Iterator[Callable[..., Node]]:
    """Make a field node with its own SQLite database (empty, or a copy of the demo)."""
    made: list[Node] = []

    def factory(code: str | None = None, demo: bool = False, instance: Path | None = None,
                **extra: Any) -> Node:
        code = code or f"N{len(made) + 1}"
        if instance is None:
            instance = tmp_path / f"node-{code}-{len(made)}"
            instance.mkdir()
            shutil.copy(demo_db if demo else migrated_db, instance / "fieldapp.sqlite")
        app = create_app(node_config(instance, code, ROLE="field", **extra))
        node = Node(app, code)
        made.append(node)
        return node

    yield factory
    for node in made:
        with node.app.app_context():
            db.engine.dispose()
