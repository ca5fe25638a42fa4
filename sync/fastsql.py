"""Bulk paths for SQLite: wire values straight to SQLite's stored form, and back.

SQLAlchemy's per-row type processing costs more than the rest of a sync page together, so the
bulk writes and reads of SQLite (every field node, and central when it runs on SQLite) convert
between the wire's JSON values and what SQLAlchemy itself stores on SQLite: UUIDs as 32 hex
digits, timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive UTC), decimals as REAL, booleans as
0/1, JSON as text. Every value is still checked (a wrong type raises ``ValueError``). Other
databases (PostgreSQL) use the ordinary SQLAlchemy path.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from math import isfinite
from typing import Any

from sqlalchemy import Table, TypeDecorator
from sqlalchemy.exc import OperationalError

from sync.codec import INT_MAX, INT_MIN, wire_kind


def row_dicts(result: Any) -> list[dict[str, Any]]:
    """A result's rows as dicts, its keys read once (``dict(row._mapping)`` reads them per row,
    a tenth of a 60-family attendance sheet's capture)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]

_SAFE_UNKNOWN = uuid.SafeUUID.unknown
_new = object.__new__
_set = object.__setattr__


# -- wire -> SQLite ---------------------------------------------------------------------------
def _w_uuid(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"not a UUID: {v!r}")
    hex32 = v.replace("-", "")
    # 32 characters making 16 bytes are 32 hex digits (``int(text, 16)`` would also take
    # "0x", "_", "+", spaces and other scripts' digits, and that text would be stored).
    if len(hex32) != 32 or len(bytes.fromhex(hex32)) != 16:
        raise ValueError(f"not a UUID: {v!r}")
    return hex32.lower()


#: Wire UUID -> stored hex of reference columns (a page names the same parents again and
#: again: families, agreements, the origin node). Bounded: cleared when it grows large.
_HEX_MEMO: dict[str, str] = {}
#: Stored hex -> :class:`uuid.UUID` (the same, for the values central reasons about).
_UUID_MEMO: dict[str, uuid.UUID] = {}
_MEMO_MAX = 200_000


def _remembered(convert: Callable[[Any], Any], memo: dict[str, Any]) -> Callable[[Any], Any]:
    """``convert`` with its result remembered per text in ``memo`` (a page repeats the same
    parents and timestamps again and again). Bounded: ``memo`` is cleared when it grows large."""

    def remembered(v: Any) -> Any:
        found = memo.get(v) if type(v) is str else None
        if found is None:
            found = convert(v)
            if type(v) is str:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[v] = found
        return found

    return remembered


#: :func:`_w_uuid` for columns that repeat (foreign keys), remembered.
_w_uuid_ref = _remembered(_w_uuid, _HEX_MEMO)


def _uuid_from_hex(hex32: str) -> uuid.UUID:
    found = _new(uuid.UUID)
    _set(found, "int", int(hex32, 16))
    _set(found, "is_safe", _SAFE_UNKNOWN)
    return found


#: The UUID of 32 stored hex digits (already checked), remembered for repeated values.
uuid_of_hex: Callable[[str], uuid.UUID] = _remembered(_uuid_from_hex, _UUID_MEMO)


_fromisoformat = datetime.fromisoformat


_DT_MEMO: dict[str, str] = {}


def _datetime_to_db(v: Any) -> str:
    d = _fromisoformat(v)  # checks it
    if d.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {v!r}")
    if v[10:11] == "T" and v[13:14] == v[16:17] == ":" and v.endswith("+00:00"):
        # The common case: ours, already in UTC (with or without microseconds).
        if len(v) == 32 and v[19] == ".":
            return f"{v[:10]} {v[11:26]}"
        if len(v) == 25:
            return f"{v[:10]} {v[11:19]}.000000"
    if d.utcoffset():
        d = d.astimezone(UTC)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond:06d}")


#: Timestamps repeat (created = updated, a day's visits): each text is converted once.
_w_datetime = _remembered(_datetime_to_db, _DT_MEMO)


def _date_to_db(v: Any) -> str:
    return date.fromisoformat(v).isoformat()


_DATE_MEMO: dict[str, str] = {}

#: Dates repeat (a day's deliveries and visits): each text is converted once.
_w_date = _remembered(_date_to_db, _DATE_MEMO)


def _w_decimal(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise ValueError(f"not a number: {v!r}")
    return _finite(float(v), v)


def _w_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"not a number: {v!r}")
    return _finite(float(v), v)


def _finite(number: float, v: Any) -> float:
    """``number``, unless it is NaN or infinite (SQLite would store NaN as NULL, and an
    infinite quantity as such)."""
    if not isfinite(number):
        raise ValueError(f"not a finite number: {v!r}")
    return number


def _w_bool(v: Any) -> int:
    if not isinstance(v, (bool, int)):
        raise ValueError(f"not a boolean: {v!r}")
    return 1 if v else 0


def _w_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"not an integer: {v!r}")
    if not INT_MIN <= v <= INT_MAX:
        raise ValueError(f"an integer too large: {v!r}")
    return v


def _w_json(v: Any) -> str:
    return json.dumps(v)


def _w_bytes(v: Any) -> bytes:
    return base64.b64decode(v.encode("ascii"), validate=True)


def _w_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"not text: {v!r}")
    return v


# -- SQLite -> wire ---------------------------------------------------------------------------
def _r_uuid(v: Any) -> str:
    if isinstance(v, uuid.UUID):
        return str(v)
    return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"


_WIRE_MEMO: dict[str, str] = {}


#: :func:`_r_uuid` for columns that repeat (foreign keys), remembered.
_r_uuid_ref = _remembered(_r_uuid, _WIRE_MEMO)


def _r_datetime(v: Any) -> str:
    if isinstance(v, str) and len(v) == 26 and v[10] == " ":  # as SQLAlchemy stores it
        return f"{v[:10]}T{v[11:]}+00:00"
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC).isoformat() if v.tzinfo is None else v.isoformat()
    return datetime.fromisoformat(v).replace(tzinfo=UTC).isoformat()


def _r_bool(v: Any) -> bool:
    return bool(v)


def _r_json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def _r_bytes(v: Any) -> str:
    return base64.b64encode(v).decode("ascii")


def _r_same(v: Any) -> Any:
    return v


def _r_date(v: Any) -> str:
    return v if isinstance(v, str) else v.isoformat()


#: Wire form (:func:`sync.codec.wire_kind`) -> (wire to stored, stored to wire).
_STORED: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "uuid": (_w_uuid, _r_uuid), "datetime": (_w_datetime, _r_datetime),
    "date": (_w_date, _r_date), "float": (_w_float, _r_same), "bytes": (_w_bytes, _r_bytes),
    "bool": (_w_bool, _r_bool), "int": (_w_int, _r_same), "json": (_w_json, _r_json),
    "str": (_w_str, _r_same),
}


def _pair(sqltype: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    kind = wire_kind(sqltype)
    if kind != "decimal":
        return _STORED[kind]
    if isinstance(sqltype, TypeDecorator):
        sqltype = sqltype.impl_instance if hasattr(sqltype, "impl_instance") else sqltype.impl
    scale = sqltype.scale if sqltype.scale is not None else 10

    def _r_decimal(v: Any, _scale: int = scale) -> str:
        return f"{v:.{_scale}f}" if isinstance(v, (float, int)) else str(v)

    return _w_decimal, _r_decimal


#: Converters whose value passes unchanged when it has exactly this type (checked inline).
_PLAIN = {_w_str: "str", _w_int: "int"}

#: Remembering converters and their memos (looked up inline).
_MEMOS = {_w_uuid_ref: _HEX_MEMO, _w_datetime: _DT_MEMO, _w_date: _DATE_MEMO}


def _inline(conv: Callable[[Any], Any], x: str, n: int, namespace: dict[str, Any]) -> str:
    """Source converting the value expression ``x`` with ``conv`` (``None`` stays ``None``).

    The common cases need no call: text and integers pass when of their type, booleans are
    converted inline, repeated values (parent ids, timestamps, dates) are found in their
    converter's memo; anything else calls the converter (which raises when it does not fit).
    """
    namespace[f"c{n}"] = conv
    plain = _PLAIN.get(conv)
    if plain == "int":  # in the range a column holds (else the converter refuses it)
        convert = f"{x} if type({x}) is int and {INT_MIN} <= {x} <= {INT_MAX} else c{n}({x})"
    elif plain:
        convert = f"{x} if type({x}) is {plain} else c{n}({x})"
    elif conv in _MEMOS:
        namespace[f"m{n}"] = _MEMOS[conv].get
        convert = f"(m{n}({x}) if type({x}) is str else None) or c{n}({x})"
    elif conv is _w_bool:
        convert = f"(1 if {x} else 0) if type({x}) is bool else c{n}({x})"
    else:
        convert = f"c{n}({x})"
    return f"(None if {x} is None else {convert})"


#: :meth:`SqliteTable.write_many` stages this many rows or more (fewer go one INSERT each).
STAGE_MIN = 16


class SqliteTable:
    """Raw statements and converters of one table on SQLite."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = [c.key for c in table.columns]
        pairs = {c.key: _pair(c.type) for c in table.columns}
        self.to_db = {k: p[0] for k, p in pairs.items()}
        self.to_wire = {k: p[1] for k, p in pairs.items()}
        self.defaults = {}
        for column in table.columns:
            default = column.default
            if default is not None and default.is_scalar:
                value = default.arg
                self.defaults[column.key] = (
                    None if value is None else self.to_db[column.key](
                        value if not isinstance(value, bool) else value))
            else:
                self.defaults[column.key] = None
        self._colset = set(self.columns)
        self.id_index = self.columns.index("id") if "id" in self._colset else -1
        self._readers: dict[tuple[tuple[str, ...], tuple[str, ...] | None],
                            Callable[[tuple], dict[str, Any]]] = {}
        self._pulled: dict[tuple[str, ...], Callable[[list[Any]], tuple]] = {}
        self._to_wire_row: Callable[[tuple], list[Any]] | None = None
        self._plan = [(c, self.to_db[c], self.defaults[c]) for c in self.columns]
        self._params: dict[tuple[str, ...], Callable[[str, dict[str, Any]], tuple]] = {}
        cols = ", ".join(f'"{c}"' for c in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        name = self.quoted_name = f'"{table.name}"'
        self.insert_sql = f"INSERT INTO {name} ({cols}) VALUES ({marks})"  # noqa: S608
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in self.columns if c != "id")
        self.upsert_sql = f"{self.insert_sql} ON CONFLICT (id) DO UPDATE SET {updates}"
        # Names come from the app's own metadata, never from a request.
        self.select_sql = f"SELECT {cols} FROM {name}"  # noqa: S608
        # The staging table of write_many: columns without a type, so that values pass into it
        # unchanged and take the real column's affinity only when copied, as a direct INSERT.
        # (Names from the app's metadata, as above.)
        staging = f'"sync_stage_{table.name}"'
        stage = f"temp.{staging}"
        copied = f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {stage} WHERE true"  # noqa: S608
        self._stage_sql = (
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({cols})",
            f"INSERT INTO {stage} ({cols}) VALUES ({marks})",  # noqa: S608
            f"DELETE FROM {stage}",  # noqa: S608
        )
        self._from_stage_sql = (f"{copied} ORDER BY rowid",
                                f"{copied} ORDER BY rowid ON CONFLICT (id) DO UPDATE SET {updates}")

    def write_many(self, conn: Any, params: list[tuple], upsert: bool = False) -> None:
        """INSERT (or, with ``upsert``, insert or update by id) these rows' parameters.

        Many rows go through a TEMP table and one ``INSERT ... SELECT``: SQLite then sets up one
        statement (and one statement journal) for them all instead of one per row. That setup
        was most of a row's cost on tables with triggers (the dashboard's marks on central): a
        scale-1 push's inserts took 2.6 times as long with them. The rows land as a direct
        INSERT puts them, in the same order, with the same checks (a refused row fails the whole
        statement, as it fails ``executemany``); the staging table is emptied afterwards, and a
        failure leaves its rows to the caller's rollback (the staging table is part of the
        transaction).
        """
        if len(params) < STAGE_MIN:
            conn.exec_driver_sql(self.upsert_sql if upsert else self.insert_sql, params)
            return
        create, stage, clear = self._stage_sql
        conn.exec_driver_sql(create)
        conn.exec_driver_sql(clear)  # left by a statement that failed outside a transaction
        conn.exec_driver_sql(stage, params)
        conn.exec_driver_sql(self._from_stage_sql[1 if upsert else 0])
        conn.exec_driver_sql(clear)

    def params_from_dict(self, row_id: str, data: dict[str, Any]) -> tuple:
        """The INSERT parameters of one pushed row (``ValueError`` if a value does not fit)."""
        layout = tuple(data)
        params = self._params.get(layout)
        if params is None:
            unknown = [key for key in layout if key not in self._colset]
            if unknown:
                raise ValueError(f"unknown column {self.table.name}.{unknown[0]}")
            if len(self._params) >= 64:  # a node writes one or two layouts per table
                self._params.clear()
            params = self._params[layout] = self._compile_params(layout)
        return params(row_id, data)

    def _compile_params(self, layout: tuple[str, ...]) -> Callable[[str, dict[str, Any]], tuple]:
        """One function per table and layout of pushed keys converting a pushed row, column by
        column, without a loop or a look-up per key (this runs for every record of an initial
        push): the values are unpacked in the order the row carries them."""
        namespace: dict[str, Any] = {"_w_uuid": _w_uuid}
        given = {key: n for n, key in enumerate(layout)}
        lines = ["def params(row_id, d):"]
        if layout:
            lines.append(f"    {', '.join(f'v{given[k]}' for k in layout)}, = d.values()")
        parts = []
        for i, (col, conv, default) in enumerate(self._plan):
            if col == "id":
                parts.append("_w_uuid(row_id)")
                continue
            if col not in given:
                namespace[f"d{i}"] = default
                parts.append(f"d{i}")
                continue
            parts.append(_inline(_w_uuid_ref if conv is _w_uuid else conv, f"v{given[col]}", i,
                                 namespace))
        lines.append("    return (" + ", ".join(parts) + ",)")
        exec("\n".join(lines), namespace)  # noqa: S102 - code made from our own column names
        return namespace["params"]

    def key_reader(self, keys: tuple[str, ...], layout: tuple[str, ...] | None = None
                   ) -> Callable[[tuple], dict[str, Any]]:
        """A function reading ``keys`` as Python values from INSERT parameters (already checked
        by :meth:`params_from_dict`), or from stored rows of the columns ``layout``: UUIDs,
        booleans and integers, the columns central reasons about (scope, natural key,
        version)."""
        found = self._readers.get((keys, layout))
        if found is not None:
            return found
        position = {c: i for i, c in enumerate(layout or self.columns)}
        namespace: dict[str, Any] = {"_u": uuid_of_hex, "_m": _UUID_MEMO.get,
                                     "_new_uuid": _uuid_from_hex}
        parts = []
        for key in keys:
            i = position[key]
            conv = self.to_db[key]
            if conv is _w_uuid and key == "id":  # unique: not worth remembering
                parts.append(f"{key!r}: _new_uuid(p[{i}])")
            elif conv is _w_uuid:  # parents repeat: found in the memo inline
                parts.append(f"{key!r}: (None if p[{i}] is None else _m(p[{i}]) or _u(p[{i}]))")
            elif conv is _w_bool:
                parts.append(f"{key!r}: (None if p[{i}] is None else p[{i}] == 1)")
            elif conv is _w_int:
                parts.append(f"{key!r}: p[{i}]")
            else:  # anything else: read back as SQLAlchemy would (never on the hot path)
                processor = self.table.c[key].type.result_processor(_SQLITE_DIALECT, None)
                namespace[f"r{i}"] = processor or _r_same
                parts.append(f"{key!r}: (None if p[{i}] is None else r{i}(p[{i}]))")
        source = "def read(p):\n    return {" + ", ".join(parts) + "}"
        exec(source, namespace)  # noqa: S102 - code made from our own column names
        reader = namespace["read"]
        self._readers[keys, layout] = reader
        return reader

    def rows_by_id(self, conn: Any, keys: tuple[str, ...], ids: list[uuid.UUID]
                   ) -> list[dict[str, Any]]:
        """The rows of these ids (those that exist) as :meth:`key_reader` reads ``keys``.

        Only those columns are read, straight from the driver: placing a push page's rows reads
        thousands of parents, and SQLAlchemy's result rows cost more than SQLite's reading.
        """
        read = self.key_reader(keys, keys)
        cursor = conn.connection.dbapi_connection.cursor()
        names = ", ".join(f'"{key}"' for key in keys)
        select = f"SELECT {names} FROM {self.quoted_name}"  # noqa: S608 - our own column names
        found = []
        try:
            for start in range(0, len(ids), 900):
                chunk = tuple(i.hex for i in ids[start : start + 900])
                marks = ",".join("?" * len(chunk))
                found.extend(map(read, cursor.execute(
                    f"{select} WHERE id IN ({marks})", chunk).fetchall()))  # noqa: S608
        finally:
            cursor.close()
        return found

    def params_from_columns(self, columns: list[str], rows: list[list[Any]]) -> list[tuple]:
        """INSERT parameters of pulled rows given as columns + value lists."""
        layout = tuple(columns)
        convert = self._pulled.get(layout)
        if convert is None:
            for col in columns:
                if col not in self.to_db:
                    raise ValueError(f"unknown column {self.table.name}.{col}")
            convert = self._pulled[layout] = self._compile_pulled(columns)
        return [convert(values) for values in rows]

    def _compile_pulled(self, columns: list[str]) -> Callable[[list[Any]], tuple]:
        """One function per table and column layout converting a pulled row (no loop)."""
        namespace: dict[str, Any] = {}
        parts = []
        for n, col in enumerate(self.columns):
            if col not in columns:
                namespace[f"d{n}"] = self.defaults[col]
                parts.append(f"d{n}")
                continue
            conv = self.to_db[col]
            if conv is _w_uuid and col != "id":
                conv = _w_uuid_ref
            parts.append(_inline(conv, f"v[{columns.index(col)}]", n, namespace))
        source = "def convert(v):\n    return (" + ", ".join(parts) + ",)"
        exec(source, namespace)  # noqa: S102 - code made from our own column names
        return namespace["convert"]

    def wire_rows(self, raw_rows: list[tuple]) -> list[list[Any]]:
        """Rows read with :attr:`select_sql` as wire values (same column order)."""
        convert = self._to_wire_row
        if convert is None:
            convert = self._to_wire_row = self._compile_wire()
        return [convert(raw) for raw in raw_rows]

    def _compile_wire(self) -> Callable[[tuple], list[Any]]:
        """One function per table converting a stored row to wire values (no loop). The
        common stored forms (timestamps as SQLAlchemy writes them, booleans, repeated ids)
        are converted inline; anything else goes through the column's converter."""
        namespace: dict[str, Any] = {"_ref": _WIRE_MEMO.get, "_str": str}
        names = [f"v{i}" for i in range(len(self.columns))]
        parts = []
        for i, col in enumerate(self.columns):
            conv = self.to_wire[col]
            v = names[i]
            namespace[f"c{i}"] = conv
            if conv is _r_same:
                parts.append(v)
            elif conv is _r_uuid and col != "id":
                namespace[f"c{i}"] = _r_uuid_ref
                parts.append(f"(None if {v} is None else _ref({v}) or c{i}({v}))")
            elif conv is _r_datetime:
                parts.append(f'(None if {v} is None else f"{{{v}[:10]}}T{{{v}[11:]}}+00:00" '
                             f'if type({v}) is _str and len({v}) == 26 and {v}[10] == " " '
                             f"else c{i}({v}))")
            elif conv is _r_bool:
                parts.append(f"(None if {v} is None else not not {v})")
            else:
                parts.append(f"(None if {v} is None else c{i}({v}))")
        source = (f"def convert(r):\n    {', '.join(names)}, = r\n"
                  f"    return [{', '.join(parts)}]")
        exec(source, namespace)  # noqa: S102 - code made from our own column names
        return namespace["convert"]


_cache: dict[Table, SqliteTable] = {}


def _sqlite_dialect() -> Any:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


_SQLITE_DIALECT = _sqlite_dialect()


def sqlite_table(table: Table) -> SqliteTable:
    found = _cache.get(table)
    if found is None:
        found = _cache[table] = SqliteTable(table)
    return found


def is_sqlite(session: Any) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def begin_write(session: Any) -> None:
    """Start the session's transaction on SQLite holding the write lock (``BEGIN IMMEDIATE``),
    asking for it every millisecond for as long as the connection's busy timeout.

    SQLite's own busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between tries: a push page
    waiting for the page before it got the lock on average 7 ms after that one committed (0.23 s
    over a scale-1 initial push). Nothing happens when the transaction has already begun.

    :raises sqlalchemy.exc.OperationalError: still locked when the busy timeout is over.
    """
    raw = session.connection().connection.dbapi_connection
    if raw.in_transaction:
        return
    (timeout_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + timeout_ms / 1000
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", (), error) from error
            time.sleep(0.001)
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
