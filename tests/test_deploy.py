"""Deployment: where an installed app keeps its files, backup and restore of an installation,
the one-command upgrade of a node, and the service files in deploy/.

The wheel itself (built, installed outside the checkout, served by gunicorn) is checked by
tools/check-wheel.sh in CI: it needs a fresh venv and PyPI, too slow for the test run.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fieldapp import create_app, locations
from fieldapp.config import DefaultConfig
from fieldapp.extensions import db
from fieldapp.setup import MIGRATIONS_DIR

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _family_count(app) -> int:
    with app.app_context():
        count = db.session.execute(sa.text("SELECT count(*) FROM families")).scalar()
        db.session.remove()
        return count


# -- where an installed app keeps its files ------------------------------------------------------
@pytest.fixture
def installed(tmp_path, monkeypatch) -> Path:
    """Pretend fieldapp is installed: its parent folder is a bare site-packages; cwd elsewhere."""
    site = tmp_path / "site-packages"
    site.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setattr(locations, "ROOT", site)
    monkeypatch.delenv("FIELDAPP_INSTANCE_PATH", raising=False)
    monkeypatch.chdir(run)
    return run


def test_a_checkout_serves_its_own_folders_and_instance(monkeypatch):
    monkeypatch.delenv("FIELDAPP_INSTANCE_PATH", raising=False)
    assert locations.web_folders() == (REPO / "templates", REPO / "static")
    assert locations.default_instance_path() == REPO / "instance"


def test_an_installed_app_serves_the_packaged_web_folders(installed):
    templates, static = locations.web_folders()
    assert templates == Path(locations.__file__).parent / "web" / "templates"
    assert static == Path(locations.__file__).parent / "web" / "static"


def test_an_installed_app_keeps_its_instance_in_the_working_directory(installed, caplog):
    folder = locations.instance_folder()
    assert folder == installed / "instance"
    assert folder.is_dir()
    assert "FIELDAPP_INSTANCE_PATH is not set" in caplog.text


def test_fieldapp_instance_path_wins_when_installed(installed, tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path / "var" / "fieldapp"))
    assert locations.instance_folder() == tmp_path / "var" / "fieldapp"
    assert not (installed / "instance").exists()


def test_an_instance_folder_that_cannot_be_created_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(locations.InstanceFolderError) as refused:
        create_app({"INSTANCE_PATH": str(blocker / "instance"), "SECRET_KEY": "x"})
    message = str(refused.value)
    assert str(blocker / "instance") in message
    assert "FIELDAPP_INSTANCE_PATH" in message


# -- backup and restore (SQLite) ----------------------------------------------------------------
def _instance_files(app) -> Path:
    """The files a field node keeps beside its database, with their modes."""
    instance = Path(app.instance_path)
    for name, text, mode in (("secret_key", "s3cret", 0o600),
                             ("sync.json", '{"node_id": "n1", "secret": "abc"}', 0o600),
                             ("config.py", "PER_PAGE = 30\n", 0o640)):
        (instance / name).write_text(text)
        (instance / name).chmod(mode)
    (instance / "node.json").chmod(0o600)
    return instance


@pytest.mark.parametrize("target", ["backup-folder", "backup.tar.gz"])
def test_backup_and_restore_bring_back_the_first_state(app, runner, make_family, tmp_path,
                                                       target):
    make_family()
    make_family()
    instance = _instance_files(app)
    node_json = (instance / "node.json").read_text()
    dest = tmp_path / target

    result = runner.invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert "fieldapp.sqlite" in result.output
    if dest.is_dir():
        assert _mode(dest) == 0o700
        held = {p.name: _mode(p) for p in dest.iterdir()}
        assert held == dict.fromkeys(["fieldapp.sqlite", "secret_key", "node.json", "sync.json",
                                      "config.py", "backup.json"], 0o600)
        manifest = json.loads((dest / "backup.json").read_text())
        assert manifest["revision"] == _head()
        assert manifest["modes"]["config.py"] == "0640"
    else:
        assert _mode(dest) == 0o600

    # Life goes on after the backup: a family more, a new credential, a changed config.
    make_family()
    (instance / "sync.json").write_text('{"node_id": "n1", "secret": "later"}')
    (instance / "config.py").write_text("PER_PAGE = 50\n")
    (instance / "config.py").chmod(0o644)
    assert _family_count(app) == 3

    refused = runner.invoke(args=["restore", str(dest)])
    assert refused.exit_code != 0
    assert "already holds data" in refused.output
    assert _family_count(app) == 3

    result = runner.invoke(args=["restore", "--force", str(dest)])
    assert result.exit_code == 0, result.output
    assert "fieldapp node resequence" in result.output
    assert _family_count(app) == 2
    assert (instance / "sync.json").read_text() == '{"node_id": "n1", "secret": "abc"}'
    assert (instance / "config.py").read_text() == "PER_PAGE = 30\n"
    assert (instance / "node.json").read_text() == node_json
    assert {name: _mode(instance / name) for name in
            ("secret_key", "node.json", "sync.json", "config.py")} == {
        "secret_key": 0o600, "node.json": 0o600, "sync.json": 0o600, "config.py": 0o640}


def test_a_restore_drops_the_old_write_ahead_log(app, runner, make_family, tmp_path):
    """A log left by a crash beside the old file would be replayed onto the restored one."""
    make_family()
    assert runner.invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    database = Path(app.instance_path) / "fieldapp.sqlite"
    with app.app_context():
        db.engine.dispose()
    crashed = sqlite3.connect(database)
    crashed.execute("PRAGMA wal_autocheckpoint=0")
    crashed.execute("CREATE TABLE written_after_the_backup (x)")
    crashed.commit()
    log = Path(f"{database}-wal").read_bytes()  # committed, not yet in the database file
    crashed.close()  # (a clean close folds the log: put it back as a crash leaves it)
    Path(f"{database}-wal").write_bytes(log)

    result = runner.invoke(args=["restore", "--force", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    restored = sqlite3.connect(database)
    try:
        tables = {row[0] for row in restored.execute("SELECT name FROM sqlite_master")}
    finally:
        restored.close()
    assert "written_after_the_backup" not in tables
    assert _family_count(app) == 1


def test_a_restore_refuses_a_database_in_use(app, runner, make_family, tmp_path):
    make_family()
    assert runner.invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    make_family()
    database = Path(app.instance_path) / "fieldapp.sqlite"
    running = sqlite3.connect(database)  # the app or the sync loop, still running
    try:
        running.execute("SELECT count(*) FROM families").fetchone()
        result = runner.invoke(args=["restore", "--force", str(tmp_path / "b")])
    finally:
        running.close()
    assert result.exit_code != 0
    assert "in use" in result.output
    assert _family_count(app) == 2


def test_a_restore_onto_a_new_node_needs_no_force(app_factory, make_family, app, tmp_path):
    make_family()
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    new_node = app_factory()
    result = new_node.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert _family_count(new_node) == 1


def test_a_backup_never_overwrites(app, runner, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "something").write_text("keep me")
    result = runner.invoke(args=["backup", str(tmp_path / "taken")])
    assert result.exit_code != 0
    assert "not an empty folder" in result.output
    assert (tmp_path / "taken" / "something").read_text() == "keep me"


def test_a_tar_that_is_not_a_backup_is_refused(app, runner, tmp_path):
    import tarfile

    evil = tmp_path / "evil.tar"
    (tmp_path / "x").write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(tmp_path / "x", arcname="../../etc/x")
    result = runner.invoke(args=["restore", "--force", str(evil)])
    assert result.exit_code != 0
    assert "not part of a backup" in result.output


# -- backup and restore (central on PostgreSQL) -------------------------------------------------
def _add_family(app, name: str) -> None:
    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    with app.test_request_context():
        community = Community(code=f"C{uuid.uuid4().hex[:4].upper()}", name=name)
        db.session.add(community)
        db.session.flush()
        create_family({"head_given_names": name, "head_surname": "Tuanama", "members_count": 3,
                       "data_consent": True, "community_id": community.id})
        db.session.commit()


@pytest.mark.postgres
def test_postgres_backup_and_restore_round_trip(pg_url, tmp_path):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("PostgreSQL's client tools are not installed")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "AUTO_MIGRATE": True,
                      "SECRET_KEY": "x", "ROLE": "central", "SQLALCHEMY_DATABASE_URI": pg_url})
    runner = app.test_cli_runner()
    try:
        _add_family(app, "Ana")
        result = runner.invoke(args=["backup", str(tmp_path / "central")])
        assert result.exit_code == 0, result.output
        assert _mode(tmp_path / "central" / "central.pgdump") == 0o600
        _add_family(app, "Rosa")
        assert _family_count(app) == 2
        assert runner.invoke(args=["restore", str(tmp_path / "central")]).exit_code != 0
        result = runner.invoke(args=["restore", "--force", str(tmp_path / "central")])
        assert result.exit_code == 0, result.output
        assert "resend-all" in result.output
        assert _family_count(app) == 1
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_missing_postgres_tool_is_named(monkeypatch):
    from fieldapp.backups import operations

    monkeypatch.setattr(operations.shutil, "which", lambda name: None)
    with pytest.raises(operations.BackupError, match="pg_dump is not installed"):
        operations._pg_run("pg_dump", sa.make_url("postgresql+psycopg://u@h/d"), [])


# -- upgrading a node ---------------------------------------------------------------------------
OLD_REVISION = "0010_outbox_payloads"


def _old_node(instance: Path) -> None:
    """A node of the previous release: its database at an older migration, with records written
    by that release (plain SQL: today's models may not match the old schema)."""
    from flask_migrate import upgrade

    app = create_app({"INSTANCE_PATH": str(instance), "AUTO_MIGRATE": False})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision=OLD_REVISION)
        community = uuid.uuid4().hex
        now = "2026-01-05 10:00:00.000000"
        db.session.execute(sa.text(
            "INSERT INTO communities (id, code, name, created_at, updated_at, origin_node, "
            "version, voided) VALUES (:id, 'C001', 'Aguas Verdes', :now, :now, 'old', 1, 0)"),
            {"id": community, "now": now})
        for n in (1, 2):
            db.session.execute(sa.text(
                "INSERT INTO families (id, code, community_id, head_given_names, head_surname, "
                "members_count, data_consent, status, search_text, created_at, updated_at, "
                "origin_node, version, voided) VALUES (:id, :code, :c, 'María', 'Huamán', 4, 1, "
                "'active', '', :now, :now, 'old', 1, 0)"),
                {"id": uuid.uuid4().hex, "code": f"AM-OLD-{n:04d}", "c": community, "now": now})
        db.session.commit()
        db.engine.dispose()


def test_upgrade_backs_up_the_old_database_then_migrates_it(tmp_path, monkeypatch):
    from fieldapp.cli import main

    instance = tmp_path / "instance"
    _old_node(instance)
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # FlaskGroup sets it; restored afterwards

    # The real command line (not a test app): the app must not migrate before the backup.
    result = CliRunner().invoke(main, ["upgrade", "--backup-to", str(tmp_path / "before")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "before" / "backup.json").read_text())
    assert manifest["revision"] == OLD_REVISION

    app = create_app({"INSTANCE_PATH": str(instance), "AUTO_MIGRATE": False})
    try:
        with app.app_context():
            revision = db.session.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert revision.scalar() == _head()
            codes = db.session.execute(sa.text("SELECT code FROM families ORDER BY code"))
            assert codes.scalars().all() == ["AM-OLD-0001", "AM-OLD-0002"]
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


# -- the service files in deploy/ ---------------------------------------------------------------
def _unit(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` -> values of a systemd unit (keys may repeat)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key}", []).append(value)
    return entries


UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


TIMERS = sorted((DEPLOY / "systemd").glob("*.timer"))


def test_there_are_units_for_a_field_node_its_sync_and_central():
    assert {u.name for u in UNITS} == {"fieldapp-field.service", "fieldapp-sync.service",
                                       "fieldapp-central.service", "fieldapp-compact.service"}
    assert {t.name for t in TIMERS} == {"fieldapp-compact.timer"}


@pytest.mark.parametrize("timer", TIMERS, ids=lambda t: t.name)
def test_a_timer_starts_a_oneshot_service_of_its_name(timer):
    entries = _unit(timer)
    assert entries["Install.WantedBy"] == ["timers.target"]
    assert entries["Timer.OnCalendar"]
    service = _unit(timer.with_suffix(".service"))
    assert service["Service.Type"] == ["oneshot"]
    assert "Install.WantedBy" not in service  # started by its timer, not at boot


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_a_unit_runs_real_commands(unit, tmp_path):
    """Every Exec line runs gunicorn on the app factory or an existing ``fieldapp`` command."""
    import click

    app = create_app({"AUTO_MIGRATE": False, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    entries = _unit(unit)
    if not unit.with_suffix(".timer").exists():  # a timer starts the others, now and then
        assert entries["Install.WantedBy"] == ["multi-user.target"]
        assert entries["Service.Restart"][0] in ("on-failure", "always")
    commands = [v for k, vs in entries.items() if k.startswith("Service.Exec") for v in vs]
    assert commands
    for command in commands:
        words = shlex.split(command.lstrip("-"))
        program = Path(words[0])
        assert program.parent == Path("/opt/fieldapp/venv/bin")
        if program.name == "gunicorn":
            assert words[-1] == "fieldapp:create_app()"
            continue
        assert program.name == "fieldapp"
        group: click.Command = app.cli
        for word in (w for w in words[1:] if not w.startswith("-")):
            assert isinstance(group, click.Group), f"{unit.name}: {command}"
            found = group.get_command(click.Context(group), word)
            assert found is not None, f"{unit.name}: no command {word!r} in {command}"
            group = found
    env_file = entries["Service.EnvironmentFile"][0]
    settings = dict(line.split("=", 1) for line in
                    (DEPLOY / "systemd" / Path(env_file).name).read_text().splitlines()
                    if line and not line.startswith("#"))
    # Keys the app reads without a default in its config: the instance folder (before the app
    # exists) and Flask-Login's remember-me cookie. Any other key must be a known setting.
    outside_config = {"INSTANCE_PATH", "REMEMBER_COOKIE_SECURE"}
    for key in settings:
        assert key.startswith("FIELDAPP_")
        assert key.removeprefix("FIELDAPP_") in app.config.keys() | outside_config, key
    assert settings["FIELDAPP_INSTANCE_PATH"] == entries["Service.WorkingDirectory"][0]
    if "fieldapp:create_app()" in " ".join(commands) and int(_workers(commands)) > 1:
        # Several workers add up their metrics in a folder the unit makes fresh at each start.
        assert entries["Service.Environment"] == [
            f"PROMETHEUS_MULTIPROC_DIR=/run/{entries['Service.RuntimeDirectory'][0]}"]


def _workers(commands: list[str]) -> str:
    words = shlex.split(next(c for c in commands if "gunicorn" in c))
    return words[words.index("--workers") + 1] if "--workers" in words else "1"


def test_the_proxies_take_the_bodies_the_app_takes():
    assert DefaultConfig.MAX_CONTENT_LENGTH == 8 * 1024 * 1024
    nginx = (DEPLOY / "proxy" / "nginx-central.conf").read_text()
    assert "client_max_body_size 8m;" in nginx  # nginx's m is MiB
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    for caddyfile in ("Caddyfile.central", "Caddyfile.field"):
        assert "max_size 8MiB" in (DEPLOY / "proxy" / caddyfile).read_text()
    for name in ("fieldapp-central.service", "fieldapp-field.service"):
        # Behind the proxy only: PROXY_FIX_HOPS=1 trusts X-Forwarded-* from whoever connects.
        assert "--bind 127.0.0.1:8000" in _unit(DEPLOY / "systemd" / name)["Service.ExecStart"][0]


def _head() -> str:
    """The newest migration (the schema every upgrade ends at)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from fieldapp.setup import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def test_the_proxies_hide_metrics_and_send_a_request_id():
    """Prometheus scrapes the app on its own port; through the proxy /metrics is not found
    (the app refuses other addresses too), and each request carries the proxy's id."""
    nginx = (DEPLOY / "proxy" / "nginx-central.conf").read_text()
    assert "location = /metrics { return 404; }" in nginx
    assert "proxy_set_header X-Request-Id $request_id;" in nginx
    caddy = (DEPLOY / "proxy" / "Caddyfile.central").read_text()
    assert "respond /metrics 404" in caddy
    assert "header_up X-Request-Id {http.request.uuid}" in caddy
