"""Dates, times and numbers as people read them: one implementation for pages and PDFs.

Timestamps are stored in UTC; a person reads them in the program's time zone
(``PROGRAM_TIMEZONE``, ``America/Lima``), never in UTC. Numbers are grouped the same way on
every page and PDF (Babel's ``format_decimal`` in the reader's locale): "1,033 familias".
The PDF builders are pure and pass ``locale`` and ``tz``; pages take both from the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class UnitForms:
    """A catalogue unit in the singular and plural, in Spanish and English ("kit"/"kits").

    English may be missing (an entry an admin added with its Spanish forms only): the Spanish
    forms are shown then, as they were before units had forms.
    """

    one_es: str
    other_es: str
    one_en: str | None = None
    other_en: str | None = None

    def form(self, quantity: float | Decimal | int, locale: str | None = None) -> str:
        """The form for ``quantity`` in ``locale`` (Spanish unless English is asked)."""
        one = is_one(quantity)
        if _locale(locale).startswith("en") and (self.one_en if one else self.other_en):
            return str(self.one_en if one else self.other_en)
        return self.one_es if one else self.other_es

    def names(self) -> tuple[str, ...]:
        """Every form, as a record's free ``unit`` text may hold one of them."""
        return tuple(f for f in (self.one_es, self.other_es, self.one_en, self.other_en) if f)


def is_one(quantity: float | Decimal | int) -> bool:
    """Whether ``quantity`` takes the singular: exactly 1 in Spanish and English (CLDR's "one"
    for integers); 1.5, 0 and 2 take the plural ("1,5 kits", "0 kits")."""
    try:
        return Decimal(str(quantity)) == 1
    except ArithmeticError:
        return False


def quantity_with_unit(quantity: float | Decimal | int | str | None, unit: str | UnitForms | None,
                       locale: str | None = None, catalogue: Iterable[UnitForms] = ()) -> str:
    """A quantity and its unit as the reader says it: "1 kit", "3 kits", "1 botiquín".

    The one rule for every page and printout. ``unit`` is a catalogue unit's forms, or a
    record's free text: text that is one of the ``catalogue`` forms (any number, any language,
    any case) is shown in the quantity's number and the reader's language; other text is shown
    as it was typed. Stored text is never rewritten: only its display changes.
    """
    if quantity is None or quantity == "":
        return ""
    if isinstance(quantity, str):  # a signed content's quantity ("3.00")
        quantity = Decimal(quantity)
    number = format_number(quantity, locale)
    if isinstance(unit, UnitForms):
        return f"{number} {unit.form(quantity, locale)}"
    text = (unit or "").strip()
    if not text:
        return number
    key = text.casefold()
    for forms in catalogue:
        if any(name.casefold() == key for name in forms.names()):
            return f"{number} {forms.form(quantity, locale)}"
    return f"{number} {text}"
