"""Bulk paths for SQLite: wire values straight to SQLite's stored form, and back.

SQLAlchemy's per-row type processing costs more than the rest of a sync page together, so the
bulk writes and reads of SQLite (every field node, and central when it runs on SQLite) convert
between the wire's JSON values and what SQLAlchemy itself stores on SQLite: UUIDs as 32 hex
digits, timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive UTC), decimals as REAL, booleans as
0/1, JSON as text (the converters are in :mod:`sync.storage.sqlite_values`). Every value is
still checked (a wrong type raises ``ValueError``). Other databases (PostgreSQL) use the
ordinary SQLAlchemy path.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError

from sync.storage.sqlite_values import (
    UUID_MEMO,
    WIRE_MEMO,
    inline_convert,
    json_value,
    r_bool,
    r_datetime,
    r_same,
    r_uuid,
    r_uuid_ref,
    stored_pair,
    uuid_from_hex,
    uuid_of_hex,
    w_bool,
    w_int,
    w_json,
    w_uuid,
    w_uuid_ref,
)


def row_dicts(result: Any) -> list[dict[str, Any]]:
    """A result's rows as dicts, its keys read once (``dict(row._mapping)`` reads them per row,
    a tenth of a 60-family attendance sheet's capture)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


#: :meth:`SqliteTable.write_many` stages this many rows or more (fewer go one INSERT each).
STAGE_MIN = 16


class SqliteTable:
    """Raw statements and converters of one table on SQLite."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = [c.key for c in table.columns]
        pairs = {c.key: stored_pair(c.type) for c in table.columns}
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
        namespace: dict[str, Any] = {"w_uuid": w_uuid}
        given = {key: n for n, key in enumerate(layout)}
        lines = ["def params(row_id, d):"]
        if layout:
            lines.append(f"    {', '.join(f'v{given[k]}' for k in layout)}, = d.values()")
        parts = []
        for i, (col, conv, default) in enumerate(self._plan):
            if col == "id":
                parts.append("w_uuid(row_id)")
                continue
            if col not in given:
                namespace[f"d{i}"] = default
                parts.append(f"d{i}")
                continue
            parts.append(inline_convert(w_uuid_ref if conv is w_uuid else conv, f"v{given[col]}", i,
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
        namespace: dict[str, Any] = {"_u": uuid_of_hex, "_m": UUID_MEMO.get,
                                     "_new_uuid": uuid_from_hex, "_json": json_value}
        parts = []
        for key in keys:
            i = position[key]
            conv = self.to_db[key]
            if conv is w_uuid and key == "id":  # unique: not worth remembering
                parts.append(f"{key!r}: _new_uuid(p[{i}])")
            elif conv is w_uuid:  # parents repeat: found in the memo inline
                parts.append(f"{key!r}: (None if p[{i}] is None else _m(p[{i}]) or _u(p[{i}]))")
            elif conv is w_bool:
                parts.append(f"{key!r}: (None if p[{i}] is None else p[{i}] == 1)")
            elif conv is w_int:
                parts.append(f"{key!r}: p[{i}]")
            elif conv is w_json:  # what the app's rules read (signed content)
                parts.append(f"{key!r}: (None if p[{i}] is None else _json(p[{i}]))")
            else:  # anything else: read back as SQLAlchemy would (never on the hot path)
                processor = self.table.c[key].type.result_processor(_SQLITE_DIALECT, None)
                namespace[f"r{i}"] = processor or r_same
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
            if conv is w_uuid and col != "id":
                conv = w_uuid_ref
            parts.append(inline_convert(conv, f"v[{columns.index(col)}]", n, namespace))
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
        namespace: dict[str, Any] = {"_ref": WIRE_MEMO.get, "_str": str}
        names = [f"v{i}" for i in range(len(self.columns))]
        parts = []
        for i, col in enumerate(self.columns):
            conv = self.to_wire[col]
            v = names[i]
            namespace[f"c{i}"] = conv
            if conv is r_same:
                parts.append(v)
            elif conv is r_uuid and col != "id":
                namespace[f"c{i}"] = r_uuid_ref
                parts.append(f"(None if {v} is None else _ref({v}) or c{i}({v}))")
            elif conv is r_datetime:
                parts.append(f'(None if {v} is None else f"{{{v}[:10]}}T{{{v}[11:]}}+00:00" '
                             f'if type({v}) is _str and len({v}) == 26 and {v}[10] == " " '
                             f"else c{i}({v}))")
            elif conv is r_bool:
                parts.append(f"(None if {v} is None else not not {v})")
            else:
                parts.append(f"(None if {v} is None else c{i}({v}))")
        source = (f"def convert(r):\n    {', '.join(names)}, = r\n"
                  f"    return [{', '.join(parts)}]")
        exec(source, namespace)  # noqa: S102 - code made from our own column names
        return namespace["convert"]


_cache: dict[Table, SqliteTable] = {}


def _sqlite_dialect() -> Any:
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
