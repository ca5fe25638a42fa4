"""Portable SQL check expressions (the same text works on SQLite and PostgreSQL)."""

from __future__ import annotations


def only_digits(column: str, length: int) -> str:
    """SQL that is true when ``column`` is exactly ``length`` ASCII digits (or NULL)."""
    stripped = column
    for digit in "0123456789":
        stripped = f"replace({stripped}, '{digit}', '')"
    return f"{column} IS NULL OR (length({column}) = {length} AND {stripped} = '')"


def in_range(column: str, low: float, high: float) -> str:
    """SQL that is true when ``column`` is NULL or between ``low`` and ``high``."""
    return f"{column} IS NULL OR ({column} >= {low} AND {column} <= {high})"


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL that is true when ``column`` is one of ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
