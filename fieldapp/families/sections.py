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

A section's template sees ``family`` and ``data`` (what its gatherer returned). The mechanism is
the kernel's (``fieldapp/sections.py``, shared with the agreement page); this module binds it
to the family page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from fieldapp import sections
from fieldapp.families.models import Family
from fieldapp.sections import GatheredSection

#: The family page's name in the kernel's registry.
PAGE = "family"


@dataclass
class FamilyPage(sections.PageData):
    """What the gatherers of one family page share: the family, and values read once
    (:meth:`once`)."""

    family: Family


Gatherer = Callable[[FamilyPage], Any]


def register_section(app: Flask, name: str, gather: Gatherer, template: str, order: int,
                     *, title: Any) -> None:
    """Add (or replace, by ``name``) a section of ``app``'s family page (from a blueprint's
    ``record_once`` hook)."""
    sections.register_section(app, PAGE, name, gather, template, order, title=title)


def gather_sections(family: Family) -> list[GatheredSection]:
    """Every registered section of the current app with its data for ``family``, in order."""
    return sections.gather_sections(PAGE, FamilyPage(family))
