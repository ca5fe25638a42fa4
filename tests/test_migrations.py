"""Migrations: `upgrade` from empty gives exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import fieldapp.schema  # noqa: F401
from fieldapp import create_app
from fieldapp.extensions import db
from fieldapp.models import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "fieldapp" / "migrations" / "versions"


def _diff(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def _check_constraints(app) -> set[tuple[str, str]]:
    with app.app_context():
        inspector = sa.inspect(db.engine)
        return {
            (table, ck["name"])
            for table in inspector.get_table_names()
            for ck in inspector.get_check_constraints(table)
        }


def _model_checks() -> set[tuple[str, str]]:
    return {
        (table.name, constraint.name)
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }


def test_sqlite_upgrade_from_empty_matches_models(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x"})
    assert _diff(app) == []
    assert _check_constraints(app) == _model_checks()
    with app.app_context():
        pragmas = {
            name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
            for name in ("foreign_keys", "journal_mode", "synchronous")
        }
    # synchronous 2 (FULL): a commit is on disk before the app answers.
    assert pragmas == {"foreign_keys": 1, "journal_mode": "wal", "synchronous": 2}


@pytest.mark.postgres
def test_postgres_upgrade_from_empty_matches_models(tmp_path, pg_url):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": pg_url})
    try:
        assert _diff(app) == []
        assert _check_constraints(app) == _model_checks()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_downgrade_to_empty_and_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x"})
    with app.app_context():
        directory = str(MIGRATIONS.parent)
        downgrade(directory=directory, revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade(directory=directory)
    assert _diff(app) == []


def test_migrations_form_one_line_of_history():
    revisions = {}
    for path in MIGRATIONS.glob("*.py"):
        text = path.read_text()
        rev = text.split("\nrevision = ")[1].split("\n")[0].strip("'\"")
        down = text.split("\ndown_revision = ")[1].split("\n")[0].strip("'\"")
        revisions[rev] = None if down == "None" else down
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, f"several heads: {heads}"


def test_start_up_upgrades_an_old_database(tmp_path):
    """A field node that updates its code upgrades its database on the next start."""
    from flask_migrate import downgrade

    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x"})
    with app.app_context():
        downgrade(directory=str(MIGRATIONS.parent), revision="base")
        db.engine.dispose()
    again = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x"})
    assert _diff(again) == []


def test_the_outbox_and_change_log_migrations_keep_every_row(tmp_path):
    """0010 moves each captured operation's payload to its own table; 0011 copies the change
    log into a table keyed by its number (SQLite): nothing is lost on the way, down and up."""
    from flask_migrate import downgrade, upgrade

    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x"})
    directory = str(MIGRATIONS.parent)
    now = "2026-11-26 08:00:00.000000"
    with app.app_context():
        downgrade(directory=directory, revision="0009_covered_indexes")
        with db.engine.begin() as conn:
            for seq in (1, 2, 3):
                conn.exec_driver_sql(
                    "INSERT INTO sync_outbox (seq, table_name, row_id, op, captured_at, payload,"
                    " status) VALUES (?, 'families', ?, 'i', ?, ?, 'pending')",
                    (seq, f"{seq:032x}", now, f'{{"t":"families","n":{seq}}}'))
                conn.exec_driver_sql(
                    "INSERT INTO sync_changes (server_seq, table_name, row_id, op, node_seq,"
                    " echo, committed_at) VALUES (?, 'families', ?, 'u', ?, 0, ?)",
                    (10 * seq, f"{seq:032x}", seq, now))
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            payloads = conn.exec_driver_sql(
                "SELECT o.seq, p.payload FROM sync_outbox o JOIN sync_outbox_payloads p"
                " ON p.seq = o.seq ORDER BY o.seq").all()
            changes = conn.exec_driver_sql(
                "SELECT rowid, server_seq, node_seq FROM sync_changes ORDER BY rowid").all()
            indexes = conn.exec_driver_sql("PRAGMA index_list(sync_changes)").all()
        assert payloads == [(n, f'{{"t":"families","n":{n}}}') for n in (1, 2, 3)]
        assert changes == [(10 * n, 10 * n, n) for n in (1, 2, 3)]  # the number is the row key
        # The unique, and 0014's partial index of removal notices (no index of every entry).
        assert sorted(i[1] for i in indexes) == ["ix_sync_changes_removals",
                                                  "sqlite_autoindex_sync_changes_1"]
        assert [i[4] for i in indexes if i[1] == "ix_sync_changes_removals"] == [1]  # partial
        downgrade(directory=directory, revision="0009_covered_indexes")
        with db.engine.connect() as conn:
            back = conn.exec_driver_sql(
                "SELECT seq, payload FROM sync_outbox ORDER BY seq").all()
            kept = conn.exec_driver_sql("SELECT count(*) FROM sync_changes").scalar()
        assert back == payloads
        assert kept == 3
        upgrade(directory=directory)
    assert _diff(app) == []


def test_unit_plurals_migration_fills_the_forms_of_existing_entries(tmp_path):
    """0015 on a database with a catalogue: the program's entries get the forms they ship with
    (those central takes from a node), an admin's own entry its unit as both Spanish forms."""
    from flask_migrate import downgrade, upgrade

    from fieldapp.agreements.catalogue import default_entries, seed_catalogues
    from fieldapp.agreements.models import BenefitType

    app = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": True, "SECRET_KEY": "x"})
    directory = str(MIGRATIONS.parent)
    columns = ("unit_one_es", "unit_other_es", "unit_one_en", "unit_other_en")
    with app.app_context():
        seed_catalogues()
        db.session.add(BenefitType(code="bee_hives", category="other", name_es="Colmenas",
                                   name_en="Beehives", default_unit="colmenas", position=9))
        db.session.commit()
        downgrade(directory=directory, revision="0014_changes_removals")
        with db.engine.connect() as conn:
            before = {c[1] for c in conn.exec_driver_sql("PRAGMA table_info(benefit_types)")}
        assert not before & set(columns)
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            rows = {row[0]: row[1:] for row in conn.exec_driver_sql(
                f"SELECT code, {', '.join(columns)} FROM benefit_types")}  # noqa: S608 - literal
    assert rows["medical_kit"] == ("botiquín", "botiquines", "first-aid kit", "first-aid kits")
    assert rows["school_kits"] == ("kit", "kits", "kit", "kits")
    assert rows["bee_hives"] == ("colmenas", "colmenas", None, None)
    defaults = default_entries()["benefit_types"]
    for code, entry in defaults.items():
        assert rows[code] == tuple(entry[c] for c in columns)
    assert _diff(app) == []


@pytest.mark.postgres
def test_servers_upgrading_at_once_take_turns(tmp_path, pg_url):
    """Several app servers of one central restarted together: each unit runs `fieldapp db
    upgrade` on the same PostgreSQL at once. They take turns (an advisory lock) and all
    succeed; the schema is migrated once."""
    import os
    import subprocess
    import sys

    from fieldapp.locations import ROOT

    processes = []
    for n in range(3):
        instance = tmp_path / f"server{n}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FIELDAPP_ROLE": "central",
               "FIELDAPP_INSTANCE_PATH": str(instance), "FIELDAPP_SECRET_KEY": "x",
               "FIELDAPP_SQLALCHEMY_DATABASE_URI": pg_url, "FIELDAPP_AUTO_MIGRATE": "false"}
        processes.append(subprocess.Popen(  # noqa: S603 - our interpreter and arguments
            [sys.executable, "-m", "fieldapp", "db", "upgrade"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=300)
        outputs.append((process.returncode, out.decode()))
    assert [code for code, _ in outputs] == [0, 0, 0], outputs
    app = create_app({"INSTANCE_PATH": str(tmp_path / "check"), "AUTO_MIGRATE": False,
                      "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": pg_url, "ROLE": "central"})
    try:
        assert _diff(app) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def test_workers_starting_together_on_a_new_node_migrate_once(tmp_path):
    """gunicorn's workers start at once on a new field node (SQLite, AUTO_MIGRATE): one at a
    time they migrate and record the role (before: "table audit_log already exists", and the
    server stopped)."""
    import os
    import subprocess
    import sys

    from fieldapp.locations import ROOT

    start = ("from fieldapp import create_app; "
             f"create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'SECRET_KEY': 'x', "
             "'AUTO_MIGRATE': True})")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", start], env=env,  # noqa: S603
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for _ in range(4)]
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=300)
        outputs.append((process.returncode, out.decode()[-2000:]))
    assert [code for code, _ in outputs] == [0, 0, 0, 0], outputs
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "AUTO_MIGRATE": False})
    try:
        assert _diff(app) == []
    finally:
        with app.app_context():
            db.engine.dispose()
