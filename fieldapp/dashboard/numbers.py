"""Numbers as the reader's locale writes them, fast enough for tables of hundreds of rows.

Babel's ``format_decimal`` parses its pattern on every call (a quarter of a millisecond); the
dashboard writes thousands of numbers per page, so it asks Babel once per locale for the two
symbols and lets Python group the digits.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import g, has_app_context
from flask_babel import get_locale


@lru_cache(maxsize=8)
def _symbols(locale: str) -> tuple[str, str]:
    return get_decimal_symbol(locale), get_group_symbol(locale)


def fmt(value: int | float | Decimal | None, suffix: str = "", decimals: int = 2) -> str:
    """``value`` with the locale's grouping and decimal marks (at most ``decimals`` decimals)."""
    if value is None:
        return "—"
    marks = g.get("_dash_number_marks") if has_app_context() else None
    if marks is None:  # first number of this request
        marks = _symbols(str(get_locale() or "es"))
        if has_app_context():
            g._dash_number_marks = marks
    decimal_mark, group_mark = marks
    number = float(value)
    if number.is_integer():
        text = f"{int(number):,}"
    else:
        text = f"{number:,.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", decimal_mark).replace("\0", group_mark) + suffix
