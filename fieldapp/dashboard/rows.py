"""Rows of the dashboard's big tables written in Python rather than in Jinja.

The families-by-community table has one row per community (250 at ``--scale 10``) and eight
numbers per row; through Jinja each number costs an attribute look-up, a filter call and an
escape, which made the table most of the page's CPU time. The same markup is written here with
one f-string per row (names and codes escaped, numbers in the reader's locale).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from fieldapp.dashboard.numbers import fmt, request_marks

#: The figures of the families-by-community table, in the order of its columns.
COMMUNITY_FIGURES = (
    "registered",
    "active_agreement",
    "compliant",
    "non_compliant",
    "not_visited",
    "no_agreement",
    "received",
    "compliant_received",
)


def community_rows(rows: Iterable[Mapping[str, Any]], href: str) -> Markup:
    """The ``<tr>`` of each community: its name linking to ``href`` + its id, and its figures.

    :param href: the dashboard's URL with the current filters, ending in ``community=``.
    """
    marks = request_marks()
    link = escape(href)
    out = []
    for r in rows:
        cells = "".join(
            f'<td class="num">{fmt(r[k], marks=marks)}</td>' for k in COMMUNITY_FIGURES
        )
        out.append(
            f'<tr data-community="{escape(r["code"])}"><th scope="row">'
            f'<a href="{link}{escape(r["id"])}">{escape(r["name"])}</a></th>{cells}</tr>'
        )
    return Markup("\n".join(out))  # noqa: S704 - names and codes escaped, numbers are digits
