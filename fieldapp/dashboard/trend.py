"""The dashboard's monthly trend: deliveries (net of reversals), visits and attendance per month.

Months are grouped in SQL by :class:`year_month` (``YYYY-MM`` in each database's own dialect,
also the month of the summary tables that :mod:`.rollups` builds); Python only lays the few
aggregated rows out over every month of the period, the empty ones included: the summary
tables' trend (:func:`.summaries.trend`) and the tests' direct reference use :func:`trend_rows`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from fieldapp.dashboard.filters import Filters


class year_month(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """``YYYY-MM`` of a date column, in each database's own dialect."""

    type = String()
    name = "year_month"
    inherit_cache = True


@compiles(year_month, "sqlite")
def _year_month_sqlite(element: year_month, compiler: Any, **kw: Any) -> str:
    # SQLite keeps dates as ISO text: the month is the first seven characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@compiles(year_month)
def _year_month_default(element: year_month, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


def months_between(start: date, end: date) -> list[str]:
    """``YYYY-MM`` of every month from ``start`` to ``end``."""
    out, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def trend_rows(
    f: Filters, deliveries: dict[str, Any], visits_by: dict[str, Any], attendance: dict[str, Any]
) -> list[dict[str, Any]]:
    """One row per month of the period up to the snapshot day's month."""
    return [
        {
            "month": m,
            "deliveries": int(deliveries.get(m) or 0),
            "visits": int(visits_by.get(m) or 0),
            "attendance": int(attendance.get(m) or 0),
        }
        for m in months_between(f.date_from, min(f.date_to, f.asof))
    ]
