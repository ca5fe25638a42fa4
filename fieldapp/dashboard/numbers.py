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
def _marks(locale: str) -> dict[int, str]:
    """A translation table from Python's marks (``,`` grouping, ``.`` decimal) to the locale's."""
    decimal_mark, group_mark = get_decimal_symbol(locale), get_group_symbol(locale)
    return str.maketrans({",": group_mark, ".": decimal_mark})


def request_marks() -> dict[int, str]:
    """The marks of the request's locale (looked up once per request)."""
    marks = g.get("_dash_number_marks") if has_app_context() else None
    if marks is None:  # first number of this request
        marks = _marks(str(get_locale() or "es"))
        if has_app_context():
            g._dash_number_marks = marks
    return marks


def fmt(
    value: int | float | Decimal | None,
    suffix: str = "",
    decimals: int = 2,
    marks: dict[int, str] | None = None,
) -> str:
    """``value`` with the locale's grouping and decimal marks (at most ``decimals`` decimals).

    :param marks: the locale's marks from :func:`request_marks` (else looked up here).
    """
    if value is None:
        return "—"
    if type(value) is int:  # most figures: no float round trip
        text = f"{value:,}"
    else:
        number = float(value)
        if number.is_integer():
            text = f"{int(number):,}"
        else:
            text = f"{number:,.{decimals}f}".rstrip("0").rstrip(".")
    return text.translate(marks if marks is not None else request_marks()) + suffix

