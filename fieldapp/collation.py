"""Spanish collation for lists, exports and PDFs sorted by name: Chávez before Chuquizuta,
Ñahui after Nuñez and before Oblitas, whatever the database.

A database sorts text by code point unless told otherwise: "Chuquizuta" before "Chávez" (the
accent's byte is high) and "Ñ" after "Z". ``spanish(column)`` in an ``ORDER BY`` sorts the
Spanish way: on SQLite through the collation ``es`` registered on every connection
(:func:`register_sqlite`, from the engine listener in ``fieldapp/setup.py``), on PostgreSQL
through the ICU collation ``"es-x-icu"`` when the server has ICU (checked once at start:
:func:`detect_postgresql`); without ICU the server's default order is kept.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

SQLITE_COLLATION = "es"
PG_COLLATION = "es-x-icu"
#: Whether the PostgreSQL server has :data:`PG_COLLATION` (set by :func:`detect_postgresql`).
_pg_has_icu = False


def spanish_key(value: str | None) -> tuple[str, str]:
    """A sort key in Spanish order: letters without their accents (case ignored), ñ a letter
    of its own after n; ties broken by the text itself so the order is total."""
    if value is None:
        return ("", "")
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", value.casefold()):
        if ch == "\u0303" and out and out[-1] == "n":
            out[-1] = "n\U0010ffff"  # ñ: after every n…, before o
        elif not unicodedata.combining(ch):
            out.append(ch)
    return ("".join(out), value)


def _compare(a: str, b: str) -> int:
    ka, kb = spanish_key(a), spanish_key(b)
    return (ka > kb) - (ka < kb)


def register_sqlite(dbapi_connection: Any) -> None:
    """Teach a new SQLite connection the collation ``es``."""
    dbapi_connection.create_collation(SQLITE_COLLATION, _compare)


def detect_postgresql(engine: Any) -> bool:
    """Use the ICU collation if this PostgreSQL server has it."""
    global _pg_has_icu
    with engine.connect() as conn:
        _pg_has_icu = conn.execute(text("SELECT 1 FROM pg_collation WHERE collname = :name"),
                                   {"name": PG_COLLATION}).first() is not None
    return _pg_has_icu


class spanish(ColumnElement[Any]):  # noqa: N801 (reads like a function in an ORDER BY)
    """``column`` compared the Spanish way (an ``ORDER BY`` term)."""

    inherit_cache = True
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]

    def __init__(self, expr: Any) -> None:
        self.expr = expr
        self.type = expr.type


@compiles(spanish)
def _plain(element: spanish, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(spanish, "sqlite")
def _sqlite(element: spanish, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.expr, **kw)} COLLATE {SQLITE_COLLATION}"


@compiles(spanish, "postgresql")
def _postgresql(element: spanish, compiler: Any, **kw: Any) -> str:
    if not _pg_has_icu:
        return compiler.process(element.expr, **kw)
    return f'{compiler.process(element.expr, **kw)} COLLATE "{PG_COLLATION}"'
