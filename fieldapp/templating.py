"""Template globals and filters: locale-aware dates and numbers, roles, the app's role."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale, get_translations

from fieldapp.formatting import format_day, format_number, format_when
from fieldapp.labels import label


def init_app(app: Flask) -> None:
    """Register filters (``date``, ``datetime``, ``number``) and globals for templates."""

    @app.template_filter("date")
    def date_filter(value: date | datetime | None, fmt: str = "medium") -> str:
        return format_day(value, fmt)

    @app.template_filter("datetime")
    def datetime_filter(value: datetime | None, fmt: str = "short") -> str:
        return format_when(value, fmt)

    @app.template_filter("number")
    def number_filter(value: float | Decimal | int | None, fmt: str | None = None) -> str:
        return format_number(value, fmt=fmt)

    # ``ngettext('%(num)d family', …, n)`` in templates: the count grouped like every other
    # number of the page ("1,033 familias", not "1033 familias").
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: get_translations().ugettext(s),
        ngettext=ngettext_number,
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )

    @app.template_filter("label")
    def label_filter(value: Any, kind: str) -> str:
        return label(kind, value)

    app.add_template_global(label, "label")

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "app_role": current_app.config["ROLE"],
            "node_code": current_app.config["NODE_CODE"],
            "current_locale": get_locale().language if get_locale() else "es",
            "languages": current_app.config["LANGUAGES"],
        }


def ngettext_number(singular: str, plural: str, num: int) -> str:
    """The plural form for ``num``, with ``%(num)d`` already written as the locale writes it
    (:func:`fieldapp.formatting.format_number`); Jinja then fills the other placeholders."""
    text = get_translations().ungettext(singular, plural, num)
    return text.replace("%(num)d", format_number(num).replace("%", "%%"))
