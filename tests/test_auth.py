"""Login, throttling, roles on every route, users administration and its CLI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from fieldapp.auth.models import User
from fieldapp.extensions import db
from tests.conftest import TEST_PASSWORD


def test_login_page_and_successful_login(client, auth):
    assert client.get("/auth/login").status_code == 200
    auth.user("field_staff", "ana")
    response = client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_and_keeps_user_name(client, auth):
    auth.user("field_staff", "ana")
    response = client.post("/auth/login", data={"username": "ana", "password": "nope"})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert 'value="ana"' in html
    assert client.get("/").status_code == 302


def test_login_is_throttled_after_repeated_failures(client, auth, app):
    auth.user("field_staff", "ana")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = client.post("/auth/login", data={"username": "ana", "password": "x"})
        assert response.status_code == 401
    # Even the right password waits now.
    response = client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_unknown_user_names_are_throttled_too(client, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/auth/login", data={"username": "ghost", "password": "x"})
    response = client.post("/auth/login", data={"username": "ghost", "password": "x"})
    assert response.status_code == 429


def test_inactive_user_cannot_log_in(client, auth, app):
    user_id = auth.user("field_staff", "ana")
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    response = client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD})
    assert response.status_code == 401


def test_password_is_hashed(app, auth):
    user_id = auth.user("field_staff", "ana")
    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
    assert TEST_PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_open_redirect_is_refused(client, auth):
    auth.user("field_staff", "ana")
    response = client.post("/auth/login?next=https://evil.example/x",
                           data={"username": "ana", "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/"


def test_logout(client, auth):
    auth.login()
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_a_request_still_running_at_logout_does_not_log_the_user_back_in(client, auth):
    """The PWA refreshes its data and pings in the background. Such a request, answered after
    the logout's answer cleared the session cookie, must not send the logged-in cookie again:
    only a change to the session, or the first page of the day, sends it."""
    auth.login()
    background = client.get("/pwa/data/", headers={"Sec-Fetch-Mode": "cors"})
    assert background.status_code == 200
    assert "Set-Cookie" not in background.headers
    page = client.get("/", headers={"Sec-Fetch-Mode": "navigate"})  # the day's first page
    assert "session=" in page.headers["Set-Cookie"]  # sliding: 14 days from today
    again = client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
    assert "Set-Cookie" not in again.headers
    logout = client.post("/auth/logout")
    assert "session=" in logout.headers["Set-Cookie"]
    assert client.get("/").status_code == 302


def test_every_route_needs_login_unless_public(app, client):
    """Anonymous requests to any non-public endpoint are sent to the login page."""
    public = {"static", "auth.login", "auth.set_language"}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in public or getattr(view, "is_public", False):
            continue
        # ``<any(geojson, kml):format>``: the first of its values.
        url = re.sub(r"<any\(\s*([^,)\s]+)[^>]*>", lambda m: m.group(1), rule.rule)
        for arg in rule.arguments:
            url = url.replace(f"<uuid:{arg}>", "00000000-0000-0000-0000-000000000000")
            url = url.replace(f"<{arg}>", "x").replace(f"<int:{arg}>", "1")
            url = url.replace(f"<path:{arg}>", "x")
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        response = client.open(url, method=method)
        assert response.status_code in (302, 401), (rule.endpoint, response.status_code)
        if response.status_code == 302:
            assert "/auth/login" in response.headers["Location"], rule.endpoint


ROLE_RULES = [
    ("/admin/users", "field_staff", 403),
    ("/admin/users", "coordinator", 403),
    ("/admin/users", "admin", 200),
    ("/admin/users/new", "coordinator", 403),
    ("/communities/new", "field_staff", 403),
    ("/communities/new", "coordinator", 200),
    ("/communities/", "field_staff", 200),
    ("/families/", "field_staff", 200),
    ("/families/new", "field_staff", 200),
]


@pytest.mark.parametrize(("url", "role", "status"), ROLE_RULES)
def test_role_rules(client, auth, url, role, status):
    auth.login(role)
    assert client.get(url).status_code == status


def test_admin_creates_and_edits_a_user(client, auth, app, make_community):
    community_id = make_community(code="C900", name="Aguas Claras")
    auth.login("admin")
    response = client.post("/admin/users/new", data={
        "username": "rosa", "full_name": "Rosa Díaz", "role": "coordinator",
        "communities": [str(community_id)], "password": "largo-secreto", "active": "y",
    })
    assert response.status_code == 302
    with app.app_context():
        rosa = db.session.execute(select(User).where(User.username == "rosa")).scalar_one()
        assert rosa.role == "coordinator"
        assert [c.code for c in rosa.communities] == ["C900"]
        rosa_id = rosa.id
    response = client.post(f"/admin/users/{rosa_id}/edit", data={
        "username": "rosa", "full_name": "Rosa Díaz Peña", "role": "field_staff",
        "password": "", "active": "",
    })
    assert response.status_code == 302
    with app.app_context():
        rosa = db.session.get(User, rosa_id)
        assert (rosa.full_name, rosa.role, rosa.active, rosa.communities) == (
            "Rosa Díaz Peña", "field_staff", False, [])
        assert rosa.check_password("largo-secreto")
    assert "Rosa Díaz Peña" in client.get("/admin/users").get_data(as_text=True)


def test_admin_user_form_errors_keep_input(client, auth):
    auth.login("admin")
    response = client.post("/admin/users/new", data={
        "username": "Bad Name!", "full_name": "Juan Pérez", "role": "field_staff", "password": "",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="Juan Pérez"' in html
    assert 'value="Bad Name!"' in html


def test_duplicate_user_name_is_refused(client, auth):
    auth.login("admin")
    data = {"username": "test-admin", "full_name": "X", "role": "admin", "password": "12345678"}
    assert client.post("/admin/users/new", data=data).status_code == 422


def test_cli_users_create_and_list(app, runner, make_community):
    make_community(code="C001")
    result = runner.invoke(args=["users", "create", "wilmer", "--name", "Wilmer Tuanama",
                                 "--role", "field_staff", "--community", "C001",
                                 "--password", "secreto-largo"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "list"])
    assert "wilmer\tfield_staff\tactive\tC001\tWilmer Tuanama" in result.output


def test_cli_users_create_refuses_bad_input(runner):
    result = runner.invoke(args=["users", "create", "x1", "--name", "X", "--community", "NOPE",
                                 "--password", "secreto-largo"])
    assert result.exit_code != 0
    assert "unknown communities: NOPE" in result.output
    result = runner.invoke(args=["users", "create", "x2", "--name", "X", "--password", "short"])
    assert result.exit_code != 0
    assert "shorter than 8" in result.output


def test_language_switch_is_remembered_per_user(client, auth, app):
    user_id = auth.user("field_staff", "ana")
    client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD})
    assert "Familias" in client.get("/families/").get_data(as_text=True)
    client.post("/auth/language/en", data={"next": "/families/"})
    assert "Families" in client.get("/families/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).locale == "en"
    # A new session (another tablet) gets the user's language back.
    other = app.test_client()
    other.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD})
    assert "Register a family" in other.get("/families/").get_data(as_text=True)
