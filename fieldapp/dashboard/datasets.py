"""Datasets: named selections with stable column names, shared by the lists and the exports.

A dataset is a SELECT of labelled columns built from the dashboard's filters. Column names
are part of the export format (listed in docs/using/dashboard.en.md, "Export columns"): add new
columns at the end, never rename or remove one. This module holds what every dataset is made of; the
entities' datasets are in :mod:`.family_datasets` and :mod:`.fieldwork_datasets` (named in
:mod:`.entities`), the lists' in :mod:`.lists`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from fieldapp.communities.models import Community
from fieldapp.dashboard.filters import Filters
from fieldapp.families.models import Family
from fieldapp.families.privacy import private


@dataclass(frozen=True)
class Col:
    """One column: its stable name, its label on screen, the SQL expression and its kind."""

    name: str
    label: Any
    expr: Any
    kind: str = "text"  # text, int, decimal, date, datetime, bool, uuid, media_link
    #: The kind of label (fieldapp/labels.py) its stored values are shown with on screen;
    #: exports keep the stored values (stable for scripts).
    labels: str | None = None
    #: An identifier (a catalogue code) shown as it is, never translated.
    verbatim: bool = False


@dataclass(frozen=True)
class Dataset:
    """A named selection: ``build(filters)`` returns the SELECT; ``columns`` name its columns."""

    name: str
    title: Any
    columns: Callable[[], list[Col]]
    build: Callable[[Filters], Select[Any]]

    def column_names(self) -> list[str]:
        """The stable column names, in order (the export's header row)."""
        return [c.name for c in self.columns()]


def select_columns(cols: list[Col]) -> Select[Any]:
    """The SELECT of ``cols``, each labelled with its stable name."""
    return select(*[c.expr.label(c.name) for c in cols])


# -- shared column groups --------------------------------------------------------------------------
def family_cols(family: Any = Family, community: Any = Community) -> list[Col]:
    """The columns naming a family and its community (either may be an alias of its table).

    The names are blank for a family that withdrew its consent to data use (:mod:`.privacy`).
    """
    return [
        Col("family_id", _l("Family id"), family.id, "uuid"),
        Col("family_code", _l("Family"), family.code),
        Col("head_given_names", _l("Given names"), private(family.head_given_names, family)),
        Col("head_surname", _l("Surnames"), private(family.head_surname, family)),
        Col("community_code", _l("Community code"), community.code),
        Col("community_name", _l("Community"), community.name),
    ]


def placeholder_filters() -> Filters:
    """Any valid filters: what builds a dataset's column list when no selection is at hand."""
    from datetime import date

    day = date(2000, 1, 1)
    return Filters(date_from=day, date_to=day, today=day)
