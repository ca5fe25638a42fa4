"""Central's bulk inserts on PostgreSQL (``COPY``) store exactly what ``insert()`` stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from fieldapp.extensions import db
from sync.fastpg import copy_rows


def _stored(table_name: str, where: str) -> list[tuple]:
    """Every column as PostgreSQL's text (NULL stays None), and whether each is NULL."""
    return db.session.execute(text(
        f"SELECT to_jsonb(t)::text, detail IS NULL FROM {table_name} AS t "  # noqa: S608
        f"WHERE {where} ORDER BY action")).all()


def test_copy_stores_what_insert_stores(central):
    if central.backend != "postgres":
        pytest.skip("COPY is PostgreSQL's")
    log = central.state.tables.log
    node = uuid.uuid4()
    rows = [
        {"at": datetime(2026, 3, 1, 12, 30, 0, 250, tzinfo=UTC), "node_id": node,
         "action": "a", "ok": True, "code": None, "message": "Ñandú «ok»\ttab\nline",
         "detail": {"pulled": 3, "nested": [1, 2.5, None, "x"]}, "duration_ms": 12},
        {"at": datetime(2026, 3, 1, 7, 0, tzinfo=UTC).astimezone(), "node_id": None,
         "action": "b", "ok": False, "code": "busy", "message": None, "detail": None,
         "duration_ms": None},
    ]
    with central.app.app_context():
        db.session.execute(insert(log), [{**r, "id": 1000 + n} for n, r in enumerate(rows)])
        copy_rows(db.session, log, [{**r, "id": 2000 + n} for n, r in enumerate(rows)])
        by_insert = _stored("sync_log", "id < 2000 AND id >= 1000")
        by_copy = _stored("sync_log", "id >= 2000")
        db.session.rollback()
    assert len(by_insert) == 2
    strip = [(stored.replace('"id": 100', '"id": 200'), null) for stored, null in by_insert]
    assert by_copy == strip
    assert by_copy[1][1] is False  # None in a JSON column is JSON's null, as insert() stores it


def test_a_refused_copy_raises_as_sqlalchemy_does_and_inserts_nothing(central):
    if central.backend != "postgres":
        pytest.skip("COPY is PostgreSQL's")
    log = central.state.tables.log
    good = {"id": 3000, "at": datetime(2026, 3, 1, tzinfo=UTC), "action": "a", "ok": True}
    with central.app.app_context():
        with pytest.raises(DBAPIError) as refused:
            copy_rows(db.session, log, [good, {**good, "action": None}])  # NOT NULL
        assert "null value" in str(refused.value.orig)
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM sync_log WHERE id = 3000")
                                  ).scalar() == 0
        db.session.rollback()


def test_statements_are_planned_for_their_own_parameters_on_postgres(central):
    """psycopg prepares a statement it runs often, and PostgreSQL may then keep one generic
    plan for it, made while the table was small (a scan of the whole table), until the table
    is analyzed again. Every connection of the app plans each run for its own parameters."""
    if central.backend != "postgres":
        pytest.skip("PostgreSQL's plan cache")
    from sqlalchemy import select

    from fieldapp.deliveries.models import Delivery

    table = Delivery.__table__
    ids = [uuid.uuid4() for _ in range(500)]
    with central.app.app_context():
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        for _ in range(12):  # prepared by psycopg after five runs
            db.session.execute(select(table.c.id).where(table.c.id.in_(ids))).all()
        generic, custom = db.session.execute(text(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements")).one()
        db.session.rollback()
    assert custom > 0  # the statement was prepared and run again
    assert generic == 0
