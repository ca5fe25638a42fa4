"""Central's fast path for a push page: the page is read as the standard library reads it, and
on SQLite a pushed row is stored exactly as SQLAlchemy's ``insert()`` stores it, whatever order
the row's keys come in and whichever columns it leaves out; a push takes SQLite's write lock as
soon as the writer before it lets go."""

from __future__ import annotations

import random
import sqlite3
import threading
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sync.storage.codec import TableCodec
from sync.storage.fastsql import SqliteTable, begin_write

PERU = timezone(timedelta(hours=-5))


@pytest.fixture
def deliveries():
    """The deliveries table (ids, parents, a decimal, a date, booleans, timestamps) in a new
    in-memory SQLite database (foreign keys are not checked: its parents stay empty)."""
    from fieldapp.deliveries.models import Delivery

    table = Delivery.__table__
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    yield table, engine
    engine.dispose()


def _wire_row(table) -> dict:
    codec = TableCodec(table)
    row = {
        "code": "ENT-0001", "family_id": uuid.uuid4(), "agreement_id": uuid.uuid4(),
        "benefit_type_id": uuid.uuid4(), "item": "Plantones de café «Catimor»",
        "quantity": Decimal("12.50"), "unit": "unidad", "delivered_on": date(2026, 3, 2),
        "delivered_by_id": None, "delivered_by_name": "Rosa Huamán", "receipt_kind": "signature",
        "reverses_id": None, "reason": None, "over_promise_confirmed": True,
        "suspected_duplicate_of_id": None,
        "created_at": datetime(2026, 3, 2, 14, 5, 9, 120, tzinfo=UTC),
        "updated_at": datetime(2026, 3, 2, 4, 5, tzinfo=PERU),  # not in UTC on the wire
        "origin_node": str(uuid.uuid4()), "version": 3, "voided": False,
    }
    return codec.encode_row(row, list(row))


def _stored(engine, table, row_id: uuid.UUID) -> dict:
    with engine.connect() as conn:
        found = conn.execute(select(table).where(table.c.id == row_id)).one()._asdict()
    found.pop("id")
    return found


@pytest.mark.parametrize("layout", ["table order", "reversed", "without defaults", "empty"])
def test_pushed_rows_are_stored_as_insert_stores_them(deliveries, layout):
    table, engine = deliveries
    fast = SqliteTable(table)
    codec = TableCodec(table)
    wire = _wire_row(table)
    if layout == "reversed":
        wire = dict(reversed(list(wire.items())))
    elif layout == "without defaults":  # columns a row may leave out take their defaults
        for key in ("receipt_kind", "over_promise_confirmed", "voided", "reason"):
            wire.pop(key)
    reference = codec.decode_row(wire)
    by_insert, by_fast = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        if layout == "empty":  # every NOT NULL column without a default is refused
            with pytest.raises(Exception, match="NOT NULL"):
                conn.exec_driver_sql(fast.insert_sql, fast.params_from_dict(str(by_fast), {}))
            return
        conn.execute(insert(table).values(id=by_insert, **{**reference, "code": "ENT-0002"}))
        conn.exec_driver_sql(fast.insert_sql, fast.params_from_dict(str(by_fast), wire))
    stored = _stored(engine, table, by_fast)
    assert stored == {**_stored(engine, table, by_insert), "code": "ENT-0001"}
    if layout == "without defaults":
        assert (stored["receipt_kind"], stored["over_promise_confirmed"], stored["voided"]) == (
            "none", False, False)
    else:
        assert stored["quantity"] == Decimal("12.50")
        assert stored["updated_at"] == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)  # kept in UTC


def test_parents_are_read_back_as_central_reasons_about_them(deliveries):
    """Placing a push page reads only the columns it needs of the parents it names, with the
    values it reads from the page itself (UUIDs, booleans, integers)."""
    table, engine = deliveries
    fast = SqliteTable(table)
    wire = _wire_row(table)
    row_id = uuid.uuid4()
    params = fast.params_from_dict(str(row_id), wire)
    keys = ("id", "family_id", "reverses_id", "version", "voided")
    with engine.begin() as conn:
        conn.exec_driver_sql(fast.insert_sql, params)
        found = fast.rows_by_id(conn, keys, [row_id, uuid.uuid4()])  # the second is not there
    assert found == [fast.key_reader(keys)(params)]
    assert found == [{"id": row_id, "family_id": uuid.UUID(wire["family_id"]), "reverses_id": None,
                      "version": wire["version"], "voided": False}]


@pytest.mark.parametrize(("column", "value"), [
    ("family_id", "not-a-uuid"), ("family_id", 12), ("family_id", "0x" + "ab" * 15),
    ("family_id", "1_" + "a" * 30), ("item", 5), ("quantity", True), ("quantity", "NaN"),
    ("quantity", "Infinity"), ("quantity", "1e400"), ("quantity", float("-inf")),
    ("version", 2**63), ("version", -(2**63) - 1),
    ("delivered_on", "2026-13-01"), ("created_at", "2026-03-02T14:05:09"),
    ("voided", "yes"), ("version", "3"), ("no_such_column", 1),
])
def test_a_value_that_does_not_fit_is_refused(deliveries, column, value):
    table, _engine = deliveries
    fast = SqliteTable(table)
    wire = {**_wire_row(table), column: value}
    # A layout that converted well before must not let a bad value through afterwards.
    fast.params_from_dict(str(uuid.uuid4()), _wire_row(table))
    with pytest.raises(ValueError, match="."):  # its message is the operation's refusal
        fast.params_from_dict(str(uuid.uuid4()), wire)


def test_a_page_orjson_refuses_is_read_as_the_standard_library_reads_it():
    """NaN and integers past 64 bits are JSON Python reads: such an operation is then refused
    on its own (its value does not fit), never the whole page."""
    from sync.central.page import parse_page

    lines = [b'{"s":7,"t":"families","o":"u","d":{"household_size":NaN}}',
             b'{"s":8,"t":"families","o":"u","d":{"household_size":123456789012345678901234}}',
             b'', b'  {"s":9,"o":"d"}  ']
    ops = parse_page(lines)
    assert [op.seq for op in ops] == [7, 8, 9]
    assert ops[1].body["d"]["household_size"] == 123456789012345678901234
    assert ops[2].line == b'{"s":9,"o":"d"}'  # its digest is of the line without the spaces
    with pytest.raises(ValueError, match="must increase"):
        parse_page([b'{"s":2}', b'{"s":2}'])
    with pytest.raises(ValueError, match="must increase"):
        parse_page([b'{"s":true}'])


def _file_session(path, busy_ms: int):
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def pragmas(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={busy_ms}")

    return engine, Session(engine)


def test_begin_write_waits_for_the_write_lock_then_holds_it(tmp_path):
    """A push waiting for the node's lock on SQLite takes it once the other writer commits,
    and keeps it for its own transaction."""
    path = tmp_path / "central.sqlite"
    engine, session = _file_session(path, 10_000)
    session.execute(text("CREATE TABLE t (x INTEGER)"))
    session.commit()
    other = sqlite3.connect(path, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    released = threading.Event()

    def release() -> None:
        released.set()  # before the commit: begin_write cannot return before it
        other.commit()

    threading.Timer(0.3, release).start()
    begin_write(session)
    assert released.is_set()  # it waited for the other writer
    session.execute(text("INSERT INTO t VALUES (2)"))
    other.execute("PRAGMA busy_timeout=0")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")  # the lock is this session's until it commits
    assert session.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    session.commit()
    assert [x for (x,) in other.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    other.close()
    session.close()
    engine.dispose()


def test_begin_write_gives_up_after_the_busy_timeout(tmp_path):
    path = tmp_path / "central.sqlite"
    engine, session = _file_session(path, 200)
    session.execute(text("CREATE TABLE t (x INTEGER)"))
    session.commit()
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        begin_write(session)
    session.rollback()
    assert session.execute(text("PRAGMA busy_timeout")).scalar() == 200
    other.rollback()
    begin_write(session)  # free now
    session.execute(text("INSERT INTO t VALUES (1)"))
    session.commit()
    assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
    other.close()
    session.close()
    engine.dispose()


def test_rows_decode_and_are_refused_as_each_column_decoder_says(deliveries):
    """``TableCodec.decode_row`` (one compiled function per layout of keys) gives what each
    column's decoder gives, value by value, and refuses what one of them refuses."""
    table, _engine = deliveries
    codec = TableCodec(table)

    def one_by_one(data: dict) -> dict:
        return {key: None if value is None else codec.decoders[key](value)
                for key, value in data.items()}

    some_id = str(uuid.uuid4())
    values = [None, True, False, 0, 3, 2.5, "x", "", some_id, some_id.upper(),
              some_id.replace("-", ""), "2026-03-02", "2026-03-02T10:00:00+00:00",
              "2026-03-02T10:00:00", "12.50", [], {}, "aGVsbG8="]
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    refused = 0
    for _ in range(3000):
        keys = rng.sample(codec.columns, rng.randint(0, len(codec.columns)))
        data = {key: rng.choice(values) for key in keys}
        try:
            expected = one_by_one(data)
        except (ValueError, TypeError, ArithmeticError) as error:
            with pytest.raises(type(error)):
                codec.decode_row(data)
            refused += 1
            continue
        decoded = codec.decode_row(data)
        assert decoded == expected
        assert [type(v) for v in decoded.values()] == [type(v) for v in expected.values()]
    assert 0 < refused < 3000
    with pytest.raises(ValueError, match="unknown column benefit_deliveries.nope"):
        codec.decode_row({"item": "x", "nope": 1})
    for quantity in ("NaN", "-Infinity", float("nan"), "sNaN"):  # not a quantity
        with pytest.raises(ValueError, match="not a finite number"):
            codec.decode_row({"quantity": quantity})
    assert codec.decode_row({"version": 2**63 - 1}) == {"version": 2**63 - 1}
    for version in (2**63, -(2**63) - 1):  # no column holds it
        with pytest.raises(ValueError, match="too large"):
            codec.decode_row({"version": version})


def _many(table, n: int, **changes) -> list[dict]:
    """``n`` wire rows of deliveries with their own codes (and ``changes``: column -> f(i))."""
    base = _wire_row(table)
    quantities = ["12.50", "3", "0.25", "7.0"]
    return [{**base, "code": f"ENT-{i:04d}", "quantity": quantities[i % 4],
             "voided": i % 3 == 0, "reason": None if i % 2 else f"motivo {i}",
             **{k: f(i) for k, f in changes.items()}} for i in range(n)]


def _stored_raw(conn, table) -> list[tuple]:
    """Every stored value with SQLite's own type of it, by id (what a read sees)."""
    cols = ", ".join(f'"{c.key}", typeof("{c.key}")' for c in table.columns)
    return conn.exec_driver_sql(f"SELECT {cols} FROM benefit_deliveries ORDER BY id").all()  # noqa: S608


@pytest.mark.parametrize("n", [3, 40])  # one INSERT a row, and through the staging table
def test_many_rows_are_stored_as_one_insert_a_row_stores_them(tmp_path, n):
    from fieldapp.deliveries.models import Delivery

    table = Delivery.__table__
    fast = SqliteTable(table)
    ids = [uuid.uuid4() for _ in range(n)]
    params = [fast.params_from_dict(str(i), row) for i, row in zip(ids, _many(table, n),
                                                                   strict=True)]
    stored = []
    for name, write in (("direct", lambda c: c.exec_driver_sql(fast.insert_sql, params)),
                        ("many", lambda c: fast.write_many(c, params))):
        engine = create_engine(f"sqlite:///{tmp_path / name}.sqlite")
        table.metadata.create_all(engine)
        with engine.begin() as conn:
            write(conn)
        with engine.connect() as conn:
            stored.append(_stored_raw(conn, table))
            staged = conn.exec_driver_sql(
                "SELECT name FROM sqlite_temp_master WHERE type = 'table'").scalars().all()
        engine.dispose()
        assert staged == ([] if name == "direct" or n < 16 else ["sync_stage_benefit_deliveries"])
    assert len(stored[0]) == n
    assert stored[1] == stored[0]  # the same values, of the same SQLite types (3 is an integer)


def test_many_rows_upsert_by_id_the_last_of_a_repeated_id_winning(deliveries):
    table, engine = deliveries
    fast = SqliteTable(table)
    ids = [uuid.uuid4() for _ in range(30)]
    first = [fast.params_from_dict(str(i), row) for i, row in zip(ids, _many(table, 30),
                                                                  strict=True)]
    again = _many(table, 30, item=lambda i: f"otro {i}")
    twice = [{**again[0], "item": "antes"}, {**again[0], "item": "después"}]  # one id, twice
    later = [fast.params_from_dict(str(i), row) for i, row in zip(ids[10:] + [ids[0]] * 2,
                                                                  again[10:] + twice,
                                                                  strict=True)]
    more = [uuid.uuid4() for _ in range(20)]
    fresh = [fast.params_from_dict(str(i), {**row, "code": f"NEW-{n}"})
             for n, (i, row) in enumerate(zip(more, _many(table, 20), strict=True))]
    with engine.begin() as conn:
        fast.write_many(conn, first)
        fast.write_many(conn, later + fresh, upsert=True)
        items = dict(conn.exec_driver_sql("SELECT id, item FROM benefit_deliveries").all())
    assert len(items) == 50
    assert items[ids[0].hex] == "después"  # twice in the batch: the later one
    assert [items[i.hex] for i in ids[1:10]] == [f"{_wire_row(table)['item']}"] * 9
    assert [items[i.hex] for i in ids[10:]] == [f"otro {n}" for n in range(10, 30)]


def test_a_refused_row_fails_the_batch_and_the_rollback_takes_the_staged_rows(deliveries):
    from sqlalchemy.exc import IntegrityError

    table, engine = deliveries
    fast = SqliteTable(table)
    rows = _many(table, 45, code=lambda i: "ENT-DOBLE" if i in (23, 40) else f"ENT-{i:04d}")
    params = [fast.params_from_dict(str(uuid.uuid4()), row) for row in rows]

    def count(sql: str) -> int:
        return conn.exec_driver_sql(sql).scalar()

    with engine.begin() as conn:
        with pytest.raises(IntegrityError, match="UNIQUE"), conn.begin_nested():
            fast.write_many(conn, params[20:])  # the first batch of this connection
        # The staging table was made in the savepoint, and went with it.
        assert count("SELECT count(*) FROM sqlite_temp_master WHERE type = 'table'") == 0
        fast.write_many(conn, params[:20])
        with pytest.raises(IntegrityError, match="UNIQUE"), conn.begin_nested():
            fast.write_many(conn, params[20:])  # the staging table is there this time
        assert count('SELECT count(*) FROM benefit_deliveries') == 20
        assert count('SELECT count(*) FROM temp."sync_stage_benefit_deliveries"') == 0
        fast.write_many(conn, params[20:40])  # without the second "ENT-DOBLE"
        assert count('SELECT count(*) FROM benefit_deliveries') == 40


def test_staged_rows_fire_the_tables_triggers(deliveries):
    """The dashboard's marks are SQLite row triggers: rows written through the staging table
    fire them as rows inserted one by one do."""
    table, engine = deliveries
    fast = SqliteTable(table)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE marks (family_id TEXT, code TEXT)")
        conn.exec_driver_sql('CREATE TRIGGER mark AFTER INSERT ON benefit_deliveries FOR EACH ROW '
                             "BEGIN INSERT INTO marks VALUES (NEW.family_id, NEW.code); END")
        rows = _many(table, 40)
        fast.write_many(conn, [fast.params_from_dict(str(uuid.uuid4()), r) for r in rows])
        marks = conn.exec_driver_sql("SELECT code FROM marks ORDER BY rowid").scalars().all()
    assert marks == [r["code"] for r in rows]  # each row, in the order given
