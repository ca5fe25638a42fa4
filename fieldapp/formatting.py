"""Dates, times and numbers as people read them: one implementation for pages and PDFs.

Timestamps are stored in UTC; a person reads them in the program's time zone
(``PROGRAM_TIMEZONE``, ``America/Lima``), never in UTC. Numbers are grouped the same way on
every page and PDF (Babel's ``format_decimal`` in the reader's locale): "1,033 familias".
The PDF builders are pure and pass ``locale`` and ``tz``; pages take both from the request.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_decimal
from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "America/Lima"


def program_timezone() -> str:
    """The program's time zone (``PROGRAM_TIMEZONE``)."""
    if has_app_context():
        return str(current_app.config.get("PROGRAM_TIMEZONE") or DEFAULT_TIMEZONE)
    return DEFAULT_TIMEZONE


def _locale(locale: str | None) -> str:
    if locale:
        return locale
    if has_app_context():
        from flask_babel import get_locale

        found = get_locale()
        if found is not None:
            return str(found)
    return "es_PE"


def local_time(value: datetime, tz: str | None = None) -> datetime:
    """``value`` (UTC when naive, as stored) in the program's time zone."""
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz or program_timezone()))


def format_when(value: datetime | date | None, fmt: str = "short", locale: str | None = None,
                tz: str | None = None) -> str:
    """A timestamp in the program's time zone and the reader's locale (a date as a date)."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return babel_date(value, fmt, locale=_locale(locale))
    return babel_datetime(local_time(value, tz), fmt, tzinfo=ZoneInfo(tz or program_timezone()),
                          locale=_locale(locale))


def format_day(value: datetime | date | None, fmt: str = "medium", locale: str | None = None,
               tz: str | None = None) -> str:
    """The day of ``value``: a timestamp's day in the program's time zone (8 p.m. in Lima is
    that day, not the next, as UTC would have it)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_time(value, tz).date()
    return babel_date(value, fmt, locale=_locale(locale))


def format_number(value: float | Decimal | int | None, locale: str | None = None,
                  fmt: str | None = None) -> str:
    """A number grouped and pointed as the reader's locale does ("1,033", "2.5")."""
    if value is None:
        return ""
    return format_decimal(value, format=fmt, locale=_locale(locale))
