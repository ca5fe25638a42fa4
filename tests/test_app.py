"""The app factory: configuration layers, instance identity, security headers."""

from __future__ import annotations

import re
import stat

import pytest

from fieldapp import create_app


def test_config_layers_in_order(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text('PER_PAGE = 11\nPROGRAM_PREFIX = "XX"\nROLE = "central"\n')
    monkeypatch.setenv("FIELDAPP_PER_PAGE", "12")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False,
                      "PROGRAM_PREFIX": "TT"})
    assert app.config["ROLE"] == "central"  # instance/config.py over the defaults
    assert app.config["PER_PAGE"] == 12  # environment over instance/config.py
    assert app.config["PROGRAM_PREFIX"] == "TT"  # the test mapping last


def test_unknown_role_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="FIELDAPP_ROLE"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ROLE": "satellite", "AUTO_MIGRATE": False})


def test_secret_key_and_node_identity_are_generated_once_and_kept(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False})
    second = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False})
    key_file = tmp_path / "secret_key"
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["NODE_ID"] == second.config["NODE_ID"]
    assert len(first.config["NODE_CODE"]) == 3
    other = create_app({"INSTANCE_PATH": str(tmp_path / "other"), "AUTO_MIGRATE": False})
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]
    assert other.config["NODE_ID"] != first.config["NODE_ID"]


def test_workers_starting_together_agree_on_key_identity_and_catalogue(tmp_path):
    """gunicorn's workers start at once on a new instance folder: each must end with the same
    secret key and identity (else a session signed by one is refused by the other, and records
    carry two node codes), and none may fail on another's half-written file."""
    import threading

    from fieldapp.i18n import compile_catalogues
    from fieldapp.instance import load_node_identity, load_secret_key

    start = threading.Barrier(12)
    results: list[tuple[str, str]] = []
    failures: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            key = load_secret_key(tmp_path)
            identity = load_node_identity(tmp_path)
            compile_catalogues(tmp_path / "translations")
            results.append((key, identity["node_id"]))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(set(results)) == 1
    assert (tmp_path / "translations/es/LC_MESSAGES/messages.mo").stat().st_size > 10_000
    assert not list(tmp_path.rglob("*.tmp"))


def test_database_defaults_to_sqlite_in_instance(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'fieldapp.sqlite'}"


def test_security_headers(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite(client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_secure_behind_https(app_factory):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    from tests.conftest import AuthActions

    response = AuthActions(app, client).login()
    assert "Secure" in response.headers["Set-Cookie"]


def test_no_inline_script_or_style_in_pages(client, auth, make_family):
    auth.login("admin")
    family_id = make_family()
    for url in ("/", "/families/", f"/families/{family_id}", "/families/new", "/communities/",
                "/admin/users", "/admin/users/new"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html, url
        assert "<script " not in html.replace("<script src=", ""), url
        assert " style=" not in html, url
        assert "<style" not in html, url
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), url


def test_no_merge_conflict_markers_in_sources():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for folder in ("fieldapp", "sync", "templates", "static", "tests", "benchmarks", "tools"):
        for path in (root / folder).rglob("*"):
            if path.suffix in {".py", ".html", ".css", ".js", ".po", ".md", ".json", ".toml"}:
                for line in path.read_text(errors="replace").splitlines():
                    if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                        offenders.append(str(path.relative_to(root)))
                        break
    assert offenders == []
