"""Sessions end everywhere on logout, password change and deactivation; login takes as long for
any name; the login throttle holds under concurrency; the instance folder is private; a process
refuses a database set up for the other role."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldapp import create_app
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.installation import InstallationFact, RoleMismatch
from testing.servers import ThreadServer
from tests.conftest import TEST_PASSWORD, _config

REMEMBER = "remember_token"


def _login(app: Flask, username: str = "ana", password: str = TEST_PASSWORD,
           remember: bool = True) -> FlaskClient:
    client = app.test_client()
    data = {"username": username, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def _copies(app: Flask, client: FlaskClient) -> dict[str, FlaskClient]:
    """Fresh clients holding a copy of ``client``'s session cookie, or only of its remember
    cookie (what a thief copies off a tablet)."""
    copies = {}
    for name in ("session", REMEMBER):
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        copy = app.test_client()
        copy.set_cookie(name, cookie.value)
        copies[name] = copy
    return copies


def _logged_in(client: FlaskClient) -> bool:
    response = client.get("/families/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


@pytest.fixture
def ana(app: Flask, auth: Any) -> Any:
    return auth.user("field_staff", "ana")


def _devices(app: Flask) -> tuple[FlaskClient, dict[str, FlaskClient], FlaskClient]:
    """Ana on her tablet (cookies copied), and on a second device; all logged in."""
    tablet = _login(app)
    copies = _copies(app, tablet)
    other = _login(app, remember=False)
    for client in (tablet, other, *copies.values()):
        assert _logged_in(client)
    return tablet, copies, other


def test_logout_ends_every_session_of_the_user(app, ana):
    tablet, copies, other = _devices(app)
    assert tablet.post("/auth/logout").status_code == 302
    assert not _logged_in(tablet)
    assert not _logged_in(copies["session"])  # a copied session cookie
    assert not _logged_in(copies[REMEMBER])  # a copied remember cookie
    assert not _logged_in(other)  # another device


def test_admin_password_reset_ends_every_session(app, auth, ana):
    tablet, copies, other = _devices(app)
    auth.login("admin")
    response = auth.client.post(f"/admin/users/{ana}/edit", data={
        "username": "ana", "full_name": "Ana", "role": "field_staff",
        "password": "otra-clave-larga", "active": "y"})
    assert response.status_code == 302
    for client in (tablet, other, *copies.values()):
        assert not _logged_in(client)
    assert _logged_in(_login(app, password="otra-clave-larga"))


def test_admin_edit_without_password_keeps_sessions(app, auth, ana):
    tablet, copies, other = _devices(app)
    auth.login("admin")
    auth.client.post(f"/admin/users/{ana}/edit", data={
        "username": "ana", "full_name": "Ana María", "role": "field_staff", "password": "",
        "active": "y"})
    for client in (tablet, other, *copies.values()):
        assert _logged_in(client)


def test_deactivation_ends_every_session(app, auth, ana):
    tablet, copies, other = _devices(app)
    auth.login("admin")
    response = auth.client.post(f"/admin/users/{ana}/edit", data={
        "username": "ana", "full_name": "Ana", "role": "field_staff", "password": "",
        "active": ""})
    assert response.status_code == 302
    for client in (tablet, other, *copies.values()):
        assert not _logged_in(client)
    # Reactivated, Ana logs in again; the cookies of before stay dead.
    auth.client.post(f"/admin/users/{ana}/edit", data={
        "username": "ana", "full_name": "Ana", "role": "field_staff", "password": "",
        "active": "y"})
    for client in (tablet, other, *copies.values()):
        assert not _logged_in(client)
    assert _logged_in(_login(app))


def test_cli_password_reset_ends_every_session(app, ana):
    tablet, copies, other = _devices(app)
    result = app.test_cli_runner().invoke(
        args=["users", "set-password", "ana", "--password", "nueva-clave-larga"])
    assert result.exit_code == 0, result.output
    for client in (tablet, other, *copies.values()):
        assert not _logged_in(client)
    assert _logged_in(_login(app, password="nueva-clave-larga"))
    result = app.test_cli_runner().invoke(
        args=["users", "set-password", "nobody", "--password", "nueva-clave-larga"])
    assert result.exit_code == 1
    assert "no user 'nobody'" in result.output


def test_own_password_change_ends_the_other_sessions_and_keeps_this_one(app, ana):
    tablet, copies, other = _devices(app)
    assert tablet.get("/auth/password").status_code == 200
    wrong = tablet.post("/auth/password", data={
        "current": "not-it", "password": "mi-clave-nueva", "confirm": "mi-clave-nueva"})
    assert wrong.status_code == 422
    assert _logged_in(other)
    response = tablet.post("/auth/password", data={
        "current": TEST_PASSWORD, "password": "mi-clave-nueva", "confirm": "mi-clave-nueva"})
    assert response.status_code == 302
    assert _logged_in(tablet)
    for client in (other, *copies.values()):
        assert not _logged_in(client)
    with app.app_context():
        assert db.session.get(User, ana).check_password("mi-clave-nueva")


def test_remember_cookie_lasts_as_long_as_a_session(app, ana):
    """The README promises 14 days from the last page opened; Flask-Login's default is 365."""
    response = app.test_client().post("/auth/login", data={
        "username": "ana", "password": TEST_PASSWORD, "remember": "y"})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(REMEMBER))
    assert app.config["REMEMBER_COOKIE_DURATION"] <= app.config["PERMANENT_SESSION_LIFETIME"]
    assert "Max-Age=1209600" in cookie or "Max-Age" not in cookie  # 14 days
    expires = next(p for p in cookie.split("; ") if p.startswith("Expires="))
    from email.utils import parsedate_to_datetime

    days = (parsedate_to_datetime(expires[8:]).timestamp() - time.time()) / 86400
    assert 13.9 < days <= 14.0


# --- timing ---------------------------------------------------------------------------------


def test_login_takes_as_long_for_unknown_and_inactive_names(app_factory):
    """A known name's wrong password costs a password hash; an unknown name (or an inactive
    user) must cost the same, or the time tells which names exist."""
    app = app_factory(LOGIN_MAX_FAILURES=1000)
    with app.app_context():
        from fieldapp.auth.operations import create_user

        create_user("known", "Known", TEST_PASSWORD)
        create_user("sleeper", "Sleeper", TEST_PASSWORD).active = False
        db.session.commit()
    client = app.test_client()
    times: dict[str, list[float]] = {"known": [], "ghost": [], "sleeper": []}
    for attempt in range(10):
        for name in times:  # interleaved, so that a busy moment of the machine hits all three
            password = TEST_PASSWORD if name == "sleeper" else f"wrong-{attempt}"
            start = time.perf_counter()
            response = client.post("/auth/login", data={"username": name, "password": password})
            times[name].append(time.perf_counter() - start)
            assert response.status_code == 401
    known = statistics.median(times["known"])
    assert statistics.median(times["ghost"]) >= 0.5 * known, times
    assert statistics.median(times["sleeper"]) >= 0.5 * known, times


# --- the throttle under concurrency -----------------------------------------------------------


def _concurrent_wrong_logins(app: Flask, attempts: int) -> list[int]:
    """``attempts`` wrong logins for one name, sent at once over real HTTP; their statuses."""
    server = ThreadServer(app, keep_alive=True).start()
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []
    body = urllib.parse.urlencode({"username": "ana", "password": "wrong"}).encode()

    def attempt() -> None:
        barrier.wait()
        request = urllib.request.Request(f"{server.url}/auth/login", data=body)  # noqa: S310 - http to 127.0.0.1
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - local
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        server.stop()
    return statuses


def _assert_throttle_holds(app: Flask) -> None:
    with app.app_context():
        from fieldapp.auth.operations import create_user

        create_user("ana", "Ana", TEST_PASSWORD)
        db.session.commit()
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = _concurrent_wrong_logins(app, 30)
    assert len(statuses) == 30
    assert set(statuses) <= {401, 429}, statuses  # never a 500 (no lost or clashing update)
    assert statuses.count(401) == limit, statuses  # exactly the allowed checks, however many
    # And the name waits now, even with the right password.
    response = app.test_client().post("/auth/login",
                                      data={"username": "ana", "password": TEST_PASSWORD})
    assert response.status_code == 429


def test_concurrent_wrong_logins_are_checked_at_most_the_limit_sqlite(app_factory):
    _assert_throttle_holds(app_factory())


@pytest.mark.postgres
def test_concurrent_wrong_logins_are_checked_at_most_the_limit_postgres(tmp_path, pg_url):
    app = create_app(_config(tmp_path / "pg", AUTO_MIGRATE=True, SQLALCHEMY_DATABASE_URI=pg_url))
    try:
        _assert_throttle_holds(app)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_right_password_within_the_limit_clears_the_failures(client, auth, app):
    auth.user("field_staff", "ana")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        assert client.post("/auth/login", data={"username": "ana", "password": "x"}
                           ).status_code == 401
    assert client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD}
                       ).status_code == 302
    client.post("/auth/logout")
    for _ in range(limit):  # a fresh count
        assert client.post("/auth/login", data={"username": "ana", "password": "x"}
                           ).status_code == 401
    assert client.post("/auth/login", data={"username": "ana", "password": "x"}
                       ).status_code == 429


# --- the instance folder ----------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Any:
    old = os.umask(0o022)  # the usual umask, which made 0644 databases
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_instance_folder_and_database_are_private(tmp_path, umask_022):
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "AUTO_MIGRATE": True})
    try:
        with app.app_context():
            db.session.add(InstallationFact(key="probe", value="x"))
            db.session.commit()  # the WAL and shared-memory files exist while the engine is open
            files = ["fieldapp.sqlite", "fieldapp.sqlite-wal", "fieldapp.sqlite-shm",
                     "secret_key", "node.json"]
            assert _mode(instance) == 0o700
            assert {name: _mode(instance / name) for name in files} == dict.fromkeys(files, 0o600)
            for path in (instance / "translations").rglob("*"):
                assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    finally:
        with app.app_context():
            db.engine.dispose()


def test_an_open_instance_folder_is_tightened_at_start(tmp_path, migrated_db, umask_022, caplog):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    shutil.copy(migrated_db, instance / "fieldapp.sqlite")
    (instance / "fieldapp.sqlite").chmod(0o644)
    (instance / "fieldapp.sqlite-wal").write_bytes(b"")
    (instance / "fieldapp.sqlite-wal").chmod(0o644)
    (instance / "config.py").write_text("PER_PAGE = 25\n")
    (instance / "config.py").chmod(0o664)
    app = create_app(_config(instance))
    try:
        assert _mode(instance) == 0o700
        for name in ("fieldapp.sqlite", "fieldapp.sqlite-wal", "config.py"):
            assert _mode(instance / name) == 0o600, name
    finally:
        with app.app_context():
            db.engine.dispose()
    logged = caplog.text
    assert "fieldapp.sqlite was mode 644, now 600" in logged
    assert "config.py was mode 664, now 600" in logged


# --- the role recorded in the database --------------------------------------------------------


def _recorded_role(app: Flask) -> str | None:
    with app.app_context():
        return db.session.execute(select(InstallationFact.value).where(
            InstallationFact.key == "role")).scalar_one_or_none()


@pytest.mark.parametrize(("recorded", "configured"), [("central", "field"), ("field", "central")])
def test_a_process_refuses_a_database_of_the_other_role(app_factory, recorded, configured):
    app = app_factory(ROLE=recorded)  # a database without a record: recorded on first start
    assert _recorded_role(app) == recorded
    with app.app_context():
        db.engine.dispose()
    with pytest.raises(RoleMismatch) as refused:
        create_app({**_config(Path(app.instance_path)), "ROLE": configured})
    message = str(refused.value)
    assert f"configured as {configured!r}" in message
    assert f"belongs to a {recorded!r} installation" in message
    assert f"FIELDAPP_ROLE={recorded}" in message
    again = create_app({**_config(Path(app.instance_path)), "ROLE": recorded})  # still starts
    with again.app_context():
        db.engine.dispose()


def test_the_cli_refuses_a_database_of_the_other_role_without_a_stack_trace(app_factory):
    app = app_factory(ROLE="central")
    with app.app_context():
        db.engine.dispose()
    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": app.instance_path, "FIELDAPP_ROLE": "field",
           "FIELDAPP_AUTO_MIGRATE": "false"}
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "fieldapp", "users", "list"], env=env, capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "configured as 'field'" in result.stderr
    assert "belongs to a 'central' installation" in result.stderr
    env["FIELDAPP_ROLE"] = "central"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "fieldapp", "users", "list"], env=env, capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
