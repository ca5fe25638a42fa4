"""Fixtures in flaskr's shape: app, client, runner, auth; factories for records.

The schema is migrated once per test run into a template SQLite file and copied for every test
(each test has its own database); the demo program (scale 0.1) is generated once likewise.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from fieldapp import create_app
from fieldapp.checkpoints import fold
from fieldapp.extensions import db

TEST_PASSWORD = "correct horse battery"


def _config(instance: Path, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "NODE_ID": "00000000-0000-0000-0000-00000000cafe",
        "NODE_CODE": "TST",
        "WTF_CSRF_ENABLED": False,
        "AUTO_MIGRATE": False,
        **extra,
    }


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to the newest migration, copied by every test."""
    instance = tmp_path_factory.mktemp("template")
    app = create_app(_config(instance, AUTO_MIGRATE=True))
    _checkpoint(app)
    return instance / "fieldapp.sqlite"


def _checkpoint(app: Flask) -> None:
    """Forget the role the template was made with (each copy records its own role on its first
    start: tests make field nodes and centrals from the same template), and fold the WAL into
    the main file so a plain copy of it is complete."""
    from sqlalchemy import delete

    from fieldapp.installation import InstallationFact

    with app.app_context():
        db.session.execute(delete(InstallationFact))
        db.session.commit()
        fold(db.engine)
        db.engine.dispose()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Path:
    """A SQLite file holding the demo program at scale 0.1 (about 100 families)."""
    instance = tmp_path_factory.mktemp("demo")
    shutil.copy(migrated_db, instance / "fieldapp.sqlite")
    # As node TST of the sync tests (synckit registers a node under uuid5 of its code): central
    # takes new records only from the node they name.
    app = create_app(_config(instance, NODE_ID=str(uuid.uuid5(uuid.NAMESPACE_DNS, "TST"))))
    with app.app_context():
        from fieldapp.demo.generator import generate

        generate(scale=0.1, seed=7)
    _checkpoint(app)
    return instance / "fieldapp.sqlite"


def _make_app(tmp_path: Path, source: Path, **extra: Any) -> Flask:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    shutil.copy(source, instance / "fieldapp.sqlite")
    return create_app(_config(instance, **extra))


@pytest.fixture
def app_factory(tmp_path: Path, migrated_db: Path, demo_db: Path) -> Callable[..., Flask]:
    """Make an app with its own copy of the empty (or ``demo=True``) database."""
    made: list[Flask] = []

    def factory(demo: bool = False, **extra: Any) -> Flask:
        sub = tmp_path / f"app{len(made)}"
        sub.mkdir()
        app = _make_app(sub, demo_db if demo else migrated_db, **extra)
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    """An app with an empty, migrated database."""
    return app_factory()


@pytest.fixture
def demo_app(app_factory: Callable[..., Flask]) -> Flask:
    """An app holding the demo program (scale 0.1)."""
    return app_factory(demo=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class AuthActions:
    """Log a test client in as a role (the user is created on first use)."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def user(self, role: str = "field_staff", username: str | None = None,
             communities: tuple[str, ...] = ()) -> Any:
        from sqlalchemy import select

        from fieldapp.auth.models import User
        from fieldapp.auth.operations import create_user

        username = username or f"test-{role.replace('_', '-')}"
        with self.app.app_context():
            user = db.session.execute(
                select(User).where(User.username == username)
            ).scalar_one_or_none()
            if user is None:
                user = create_user(username, f"Test {role}", TEST_PASSWORD, role, communities)
                db.session.commit()
            return user.id

    def login(self, role: str = "field_staff", username: str | None = None,
              communities: tuple[str, ...] = ()) -> Any:
        username = username or f"test-{role.replace('_', '-')}"
        self.user(role, username, communities)
        response = self.client.post(
            "/auth/login", data={"username": username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def logout(self) -> Any:
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    return AuthActions(app, client)


@pytest.fixture
def make_community(app: Flask) -> Callable[..., Any]:
    """Create a community; keyword arguments override the defaults. Returns its id."""
    counter = iter(range(1, 10_000))

    def factory(**overrides: Any) -> uuid.UUID:
        from fieldapp.communities.models import Community

        n = next(counter)
        values = {"code": f"C{n:03d}", "name": f"Comunidad {n}", "district": "Moyobamba"}
        values.update(overrides)
        with app.app_context():
            community = Community(**values)
            db.session.add(community)
            db.session.commit()
            return community.id

    return factory


@pytest.fixture
def make_family(app: Flask, make_community: Callable[..., Any]) -> Callable[..., Any]:
    """Create a family through the operations layer; returns its id."""

    def factory(**overrides: Any) -> uuid.UUID:
        from fieldapp.families.operations import create_family

        data: dict[str, Any] = {
            "head_given_names": "María",
            "head_surname": "Huamán Tuanama",
            "members_count": 4,
            "data_consent": True,
            # Fixtures of one default name: confirmed as different families (the warning is
            # tested through the form in tests/test_family_duplicates.py).
            "confirm_not_duplicate": True,
        }
        data.update(overrides)
        if "community_id" not in data:
            data["community_id"] = make_community()
        with app.test_request_context():
            family = create_family(data)
            db.session.commit()
            return family.id

    return factory



PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The local PostgreSQL server; unreachable fails the run.

    Set FIELDAPP_TEST_SKIP_PG=1 to skip instead.
    """
    import os

    import sqlalchemy as sa

    url = os.environ.get("FIELDAPP_TEST_PG_SERVER", PG_SERVER)
    try:
        engine = sa.create_engine(f"{url}/test")
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError as error:
        if os.environ.get("FIELDAPP_TEST_SKIP_PG") == "1":
            pytest.skip("PostgreSQL unreachable and FIELDAPP_TEST_SKIP_PG=1")
        pytest.fail(f"PostgreSQL is unreachable at {url}: {error}")
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A database of its own on the local PostgreSQL server, dropped afterwards."""
    import sqlalchemy as sa

    name = f"fieldapp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{pg_server_url}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_server_url}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
