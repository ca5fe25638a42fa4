"""Central's bulk inserts on PostgreSQL (``COPY``) store exactly what ``insert()`` stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from fieldapp.extensions import db
from sync.storage.fastpg import copy_rows


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
        # The first row's time again, written in Peru's time zone: each distinct value goes
        # through the column's bind processor once, and this one is the same instant.
        {"at": datetime(2026, 3, 1, 7, 30, 0, 250, tzinfo=timezone(timedelta(hours=-5))),
         "node_id": node, "action": "c", "ok": True, "code": None, "message": None,
         "detail": [], "duration_ms": 0},
    ]
    with central.app.app_context():
        db.session.execute(insert(log), [{**r, "id": 1000 + n} for n, r in enumerate(rows)])
        copy_rows(db.session, log, [{**r, "id": 2000 + n} for n, r in enumerate(rows)])
        by_insert = _stored("sync_log", "id < 2000 AND id >= 1000")
        by_copy = _stored("sync_log", "id >= 2000")
        db.session.rollback()
    assert len(by_insert) == 3
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


def test_rows_are_looked_up_by_id_in_chunks_of_one_array(central, monkeypatch):
    """Placing a push page and finding the ids central already has read the rows of any number
    of ids, an array of them a statement, with the values an ``insert()`` stored."""
    if central.backend != "postgres":
        pytest.skip("PostgreSQL's arrays")
    from sync.storage import fastpg

    monkeypatch.setattr(fastpg, "LOOKUP_CHUNK", 2)
    log = central.state.tables.log
    node = uuid.uuid4()
    with central.app.app_context():
        db.session.execute(insert(log), [
            {"id": 4000 + n, "at": datetime(2026, 3, 1, tzinfo=UTC), "node_id": node,
             "action": f"a{n}", "ok": n % 2 == 0} for n in range(5)])
        found = fastpg.rows_by_id(db.session, log, ("id", "node_id", "ok"),
                                  [4000, 4001, 4002, 4003, 4004, 9999])
        db.session.rollback()
    assert sorted(found) == [(4000 + n, node, n % 2 == 0) for n in range(5)]


def _analyzed(table: str) -> tuple[int, int]:
    """(times analyzed by hand, pages PostgreSQL last measured) of ``table``."""
    return db.session.execute(text(
        "SELECT s.analyze_count, c.relpages FROM pg_stat_user_tables s "
        "JOIN pg_class c ON c.oid = s.relid WHERE s.relname = :name"), {"name": table}).one()


def test_a_table_is_analyzed_each_time_it_has_grown_fourfold(central):
    """A new central takes its first pushes before autovacuum analyzes anything, and a generic
    plan PostgreSQL keeps for a prepared statement then scans the whole table (a second per
    look-up of 500 ids, page after page of a scale-10 push). Tables are analyzed as they grow."""
    if central.backend != "postgres":
        pytest.skip("PostgreSQL's statistics")
    from sync.storage.fastpg import ANALYZE_MIN_PAGES, analyze_grown

    log = central.state.tables.log

    def grow(rows: int, start: int) -> None:
        db.session.execute(insert(log), [
            {"id": start + n, "at": datetime(2026, 3, 1, tzinfo=UTC), "action": "push",
             "ok": True, "message": "x" * 200} for n in range(rows)])
        db.session.commit()

    with central.app.app_context():
        assert analyze_grown(db.session, ["sync_log"]) == []  # empty: nothing to measure
        grow(2000, 10_000)  # about 70 pages of 8 kB
        assert analyze_grown(db.session, ["sync_log", "no_such_table"]) == ["sync_log"]
        count, pages = _analyzed("sync_log")
        assert pages >= ANALYZE_MIN_PAGES
        grow(2000, 20_000)  # twice the size: not yet
        assert analyze_grown(db.session, ["sync_log"]) == []
        grow(5000, 30_000)  # past four times
        assert analyze_grown(db.session, ["sync_log"]) == ["sync_log"]
        assert _analyzed("sync_log")[0] == count + 1
        db.session.rollback()


def test_a_push_that_grows_tables_analyzes_them(central, make_node, monkeypatch):
    if central.backend != "postgres":
        pytest.skip("PostgreSQL's statistics")
    from sync.storage import fastpg

    monkeypatch.setattr(fastpg, "ANALYZE_MIN_PAGES", 1)
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    a.add_families(c1, [{"head_given_names": f"Persona {i}", "head_surname": "Tapullima",
                         "dni": f"{42000000 + i}"} for i in range(30)])
    with central.app.app_context():
        before = {t: _analyzed(t)[0] for t in ("families", "sync_changes", "communities")}
        db.session.rollback()
    a.sync()
    with central.app.app_context():
        after = {t: _analyzed(t)[0] for t in ("families", "sync_changes", "communities")}
        db.session.rollback()
    assert after["families"] == before["families"] + 1
    assert after["sync_changes"] == before["sync_changes"] + 1
    assert after["communities"] == before["communities"]  # not pushed to
