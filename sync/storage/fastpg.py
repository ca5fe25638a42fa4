"""PostgreSQL: bulk inserts with ``COPY`` instead of ``executemany``; look-ups by id with one
array parameter; statistics kept up with tables a push grows.

psycopg sends an ``executemany`` as one prepared statement per row (in a pipeline): at some
20 µs of Python per row it was the largest part of a push to a PostgreSQL central. ``COPY ...
FROM STDIN`` takes the same rows in one stream, formatted in C. Values go through each column's
SQLAlchemy bind processor first (timestamps to naive UTC), JSON through psycopg's ``Json``
wrapper, as an ``insert()`` would. A refused row (a duplicate key, a missing parent) fails the
whole ``COPY`` as it would fail the ``executemany``, raised as SQLAlchemy's
:class:`~sqlalchemy.exc.DBAPIError` so that callers handle both the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class _Copy:
    """A table's ``COPY`` statement and its columns' bind processors."""

    def __init__(self, table: Table, dialect: Any) -> None:
        self.columns = [c.key for c in table.columns]
        names = ", ".join(f'"{c.name}"' for c in table.columns)
        # Names come from the app's own metadata, never from a request.
        self.sql = f'COPY "{table.name}" ({names}) FROM STDIN'
        self.processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, processor) for i, c in enumerate(table.columns)
            if not isinstance(c.type, JSON)
            and (processor := c.type.bind_processor(dialect)) is not None
        ]
        # JSON columns: psycopg adapts JSON through a wrapper; like insert(), a None becomes
        # JSON's null unless the column keeps None as SQL NULL.
        self.json: list[tuple[int, bool]] = [
            (i, bool(c.type.none_as_null)) for i, c in enumerate(table.columns)
            if isinstance(c.type, JSON)
        ]


_copies: dict[Table, _Copy] = {}


def copy_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (every column of ``table`` by key; missing keys are NULL) with one
    ``COPY`` in the session's transaction.

    :raises sqlalchemy.exc.DBAPIError: the database refused a row; nothing was inserted.
    """
    # Imported here, not at the top: only central's PostgreSQL path needs the driver, and a
    # field node (SQLite) should not load it.
    import psycopg
    from psycopg.types.json import Json

    connection = session.connection()
    found = _copies.get(table)
    if found is None:
        found = _copies[table] = _Copy(table, connection.dialect)
    columns, json_columns = found.columns, found.json
    # A column's values repeat (a row's creation and update times, the rows of one transaction
    # on the node): each distinct value goes through its bind processor once.
    processors = [(i, process, {}) for i, process in found.processors]
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(found.sql) as copy:
            write = copy.write_row
            for row in rows:
                values = [row.get(c) for c in columns]
                for i, process, done in processors:
                    value = values[i]
                    if value is not None:
                        try:
                            values[i] = done[value]
                        except KeyError:
                            values[i] = done[value] = process(value)
                        except TypeError:  # a value that cannot be a key (a list, a dict)
                            values[i] = process(value)
                for i, none_as_null in json_columns:
                    if values[i] is not None or not none_as_null:
                        values[i] = Json(values[i])
                write(values)
    except psycopg.Error as error:  # raised as SQLAlchemy raises what psycopg refuses
        raise DBAPIError(found.sql, None, error) from error


#: Ids per look-up: one array parameter, however many.
LOOKUP_CHUNK = 5000


def rows_by_id(session: Session, table: Table, columns: Sequence[str], ids: Sequence[Any]
               ) -> list[tuple]:
    """The ``columns`` of the rows of ``table`` whose ``id`` is one of ``ids`` (UUIDs), as
    tuples, through the driver: ``id = ANY(%s)`` with the ids as one array.

    SQLAlchemy's ``in_()`` sends a bound parameter per id, each through the column's bind
    processor: with 500 ids a statement, a push's look-ups cost some 10 µs of Python per id.
    """
    names = ", ".join(f'"{table.c[c].name}"' for c in columns)
    # Names come from the app's own metadata, never from a request.
    sql = f'SELECT {names} FROM "{table.name}" WHERE "id" = ANY(%s)'  # noqa: S608
    found: list[tuple] = []
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            found.extend(cursor.execute(sql, (list(ids[start : start + LOOKUP_CHUNK]),)))
    return found


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


#: A table is analyzed again once it has grown to this many times its size at the last
#: ``ANALYZE`` (and is at least :data:`ANALYZE_MIN_PAGES` pages of 8 kB).
ANALYZE_GROWTH = 4
ANALYZE_MIN_PAGES = 32


def analyze_grown(session: Session, tables: Iterable[str]) -> list[str]:
    """``ANALYZE`` those of ``tables`` that grew to :data:`ANALYZE_GROWTH` times their size at
    their last analysis (never analyzed: size 0), in their own transaction. Returns their names.

    A new central takes its first pushes before autovacuum analyzes anything, and psycopg
    prepares a statement it runs often: PostgreSQL may then keep one generic plan, made while
    the table was small (a scan of the whole table), until the table is analyzed again. Each
    look-up of 500 ids of a scale-10 push then took a second, page after page. An ``ANALYZE``
    refreshes the statistics and drops the cached plans built on them; growth by a factor
    keeps their number logarithmic (a handful per table for a whole program).
    ``SKIP_LOCKED``: a table another session is analyzing is left to it.
    """
    names = sorted(set(tables))
    if not names:
        return []
    grown = [
        name for name, in session.execute(text(
            "SELECT c.relname FROM pg_class c "
            "WHERE c.oid IN (SELECT to_regclass(n) FROM unnest(CAST(:names AS text[])) AS n) "
            "AND pg_relation_size(c.oid) / current_setting('block_size')::int "
            ">= greatest(:floor, :growth * c.relpages)"
        ), {"names": names, "floor": ANALYZE_MIN_PAGES, "growth": ANALYZE_GROWTH})
    ]
    session.commit()
    if grown:
        quoted = ", ".join(f'"{name}"' for name in grown)  # names from pg_class, not a request
        session.execute(text(f"ANALYZE (SKIP_LOCKED) {quoted}"))
        session.commit()
    return grown
