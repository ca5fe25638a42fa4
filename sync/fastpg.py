"""Bulk inserts for PostgreSQL: ``COPY`` instead of ``executemany``.

psycopg sends an ``executemany`` as one prepared statement per row (in a pipeline): at some
20 µs of Python per row it was the largest part of a push to a PostgreSQL central. ``COPY ...
FROM STDIN`` takes the same rows in one stream, formatted in C. Values go through each column's
SQLAlchemy bind processor first (timestamps to naive UTC), JSON through psycopg's ``Json``
wrapper, as an ``insert()`` would. A refused row (a duplicate key, a missing parent) fails the
whole ``COPY`` as it would fail the ``executemany``, raised as SQLAlchemy's
:class:`~sqlalchemy.exc.DBAPIError` so that callers handle both the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Table
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
    import psycopg
    from psycopg.types.json import Json

    connection = session.connection()
    found = _copies.get(table)
    if found is None:
        found = _copies[table] = _Copy(table, connection.dialect)
    columns, processors, json_columns = found.columns, found.processors, found.json
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(found.sql) as copy:
            write = copy.write_row
            for row in rows:
                values = [row.get(c) for c in columns]
                for i, process in processors:
                    if values[i] is not None:
                        values[i] = process(values[i])
                for i, none_as_null in json_columns:
                    if values[i] is not None or not none_as_null:
                        values[i] = Json(values[i])
                write(values)
    except psycopg.Error as error:  # raised as SQLAlchemy raises what psycopg refuses
        raise DBAPIError(found.sql, None, error) from error


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
