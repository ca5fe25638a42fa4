"""A page's sections: domains register what they show on a page they may not be imported by.

Two pages show cards owned by domains above the page's own domain: the family page
(``families.detail``: agreements, attendance, deliveries, visits) and the agreement page
(``agreements.detail``: promised vs delivered with the deliveries, sanctions). The page's domain
must not import those domains (they depend on it, not the other way round), and templates must
not query the database. So each domain registers, when its blueprint is set up, a *gatherer* (a
function that reads the section's data) and the template that renders it; the page's view calls
the gatherers in ``order`` and hands the results to its template, which only renders them.

This module is the one mechanism; ``families/sections.py`` and ``agreements/sections.py`` bind
it to their page (the page's name and what a gatherer receives). A gatherer that returns
``None`` has nothing to show: its section is left out of the page (the agreement page shows no
sanctions card when there are none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

#: Key of the registry in ``app.extensions``: page name -> section name -> section.
EXTENSION_KEY = "fieldapp.page_sections"


@dataclass
class PageData:
    """What the gatherers of one page share: values read once.

    Two sections may need the same rows (on the family page, the agreement section and the
    delivery section both need the family's agreement versions): :meth:`once` reads them for
    the first and hands the same list to the second, whichever order they run in. A page's
    module subclasses it with the page's record (``FamilyPage.family``).
    """

    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, called at most once per page for ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


@dataclass
class RecordPage(PageData):
    """A page about one record (a delivery, a visit) whose sections need only the record."""

    record: Any


Gatherer = Callable[[Any], Any]  # the page's PageData -> the section's data (None: not shown)


@dataclass(frozen=True)
class Section:
    """One registered section of a page."""

    name: str  #: also the HTML id of the card (``#visits``)
    gather: Gatherer
    template: str
    order: int
    title: Any  #: a lazy string, translated when rendered


@dataclass(frozen=True)
class GatheredSection:
    """A section with its data, as the page's template renders it."""

    name: str
    title: Any
    template: str
    order: int
    data: Any


def register_section(app: Flask, page_name: str, name: str, gather: Gatherer, template: str,
                     order: int, *, title: Any) -> None:
    """Add (or replace, by ``name``) a section of ``app``'s ``page_name`` page.

    Called from a blueprint's ``record_once`` hook, so the registry belongs to the app being
    built (tests build many apps in one process).
    """
    pages: dict[str, dict[str, Section]] = app.extensions.setdefault(EXTENSION_KEY, {})
    pages.setdefault(page_name, {})[name] = Section(name, gather, template, order, title)


def gather_sections(page_name: str, page: PageData) -> list[GatheredSection]:
    """Every registered section of the current app's ``page_name`` page with its data, in
    order; sections whose gatherer returned ``None`` are left out."""
    sections = current_app.extensions.get(EXTENSION_KEY, {}).get(page_name, {})
    gathered = []
    for s in sorted(sections.values(), key=lambda s: (s.order, s.name)):
        data = s.gather(page)
        if data is not None:
            gathered.append(GatheredSection(s.name, s.title, s.template, s.order, data))
    return gathered
