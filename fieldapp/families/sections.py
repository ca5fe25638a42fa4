"""The family page's sections: each domain registers what it shows there; the page gathers them.

The family page (``families.detail``) shows a card per domain — agreements, attendance,
deliveries, visits. The families domain must not know those domains (they depend on it, not
the other way round), and templates must not query the database. So each domain registers,
when its blueprint is set up, a *gatherer* (a function that reads the section's data) and the
template that renders it; the view calls the gatherers in ``order`` and hands the results to
``families/detail.html``, which only renders them::

    bp.record_once(lambda state: register_section(
        state.app, "visits", gather_visits, "compliance/_family_section.html", 40,
        title=_l("Compliance visits")))

A section's template sees ``family`` and ``data`` (what its gatherer returned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from fieldapp.families.models import Family

#: Key of the registry in ``app.extensions``.
EXTENSION_KEY = "fieldapp.family_sections"


@dataclass
class FamilyPage:
    """What the gatherers of one family page share: the family, and values read once.

    Two sections may need the same rows (the agreement section and the delivery section both
    need the family's agreement versions): :meth:`once` reads them for the first and hands the
    same list to the second, whichever order they run in.
    """

    family: Family
    _memo: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, called at most once per page for ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


Gatherer = Callable[[FamilyPage], Any]


@dataclass(frozen=True)
class Section:
    """One registered section of the family page."""

    name: str  #: also the HTML id of the card (``#visits``)
    gather: Gatherer
    template: str
    order: int
    title: Any  #: a lazy string, translated when rendered


@dataclass(frozen=True)
class GatheredSection:
    """A section with its data, as ``families/detail.html`` renders it."""

    name: str
    title: Any
    template: str
    data: Any


def register_section(app: Flask, name: str, gather: Gatherer, template: str, order: int,
                     *, title: Any) -> None:
    """Add (or replace, by ``name``) a section of ``app``'s family page.

    Called from a blueprint's ``record_once`` hook, so the registry belongs to the app being
    built (tests build many apps in one process).
    """
    sections: dict[str, Section] = app.extensions.setdefault(EXTENSION_KEY, {})
    sections[name] = Section(name, gather, template, order, title)


def gather_sections(family: Family) -> list[GatheredSection]:
    """Every registered section of the current app with its data for ``family``, in order."""
    sections: dict[str, Section] = current_app.extensions.get(EXTENSION_KEY, {})
    page = FamilyPage(family)
    return [
        GatheredSection(s.name, s.title, s.template, s.gather(page))
        for s in sorted(sections.values(), key=lambda s: (s.order, s.name))
    ]
