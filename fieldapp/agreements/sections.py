"""The agreement page's sections: deliveries and compliance register what they show there.

The agreement page (``agreements.detail``) shows, besides the agreement's own cards, what
was delivered against each promised benefit (deliveries) and the sanctions proposed for it
(compliance). Those domains read agreements, so agreements may not import them: each registers,
when its blueprint is set up, a gatherer and the template of its card, and the view gathers
them (the kernel's mechanism, ``fieldapp/sections.py``, shared with the family page)::

    bp.record_once(lambda state: register_section(
        state.app, "sanctions", gather_sanctions, "compliance/_agreement_section.html", 60,
        title=_l("Sanctions")))

A section's template sees the page's context (``agreement``, ``family``, ``locale``) and
``section.data``. ``order`` places the card among the page's own cards, whose places are
fixed (:data:`OWN_CARDS`): a section with order 20 comes after the commitments (10) and before
the signatures (30); :func:`after_own_cards` tells the template where each goes. A gatherer
returning ``None`` leaves its card out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from fieldapp import sections
from fieldapp.agreements.models import Agreement
from fieldapp.sections import GatheredSection

#: The agreement page's name in the kernel's registry.
PAGE = "agreement"

#: The places of the agreement page's own cards (``agreements/detail.html``); registered
#: sections go between them by their ``order``.
OWN_CARDS = {"terms": 0, "commitments": 10, "signatures": 30, "status": 40, "versions": 50,
             "history": 90}


@dataclass
class AgreementPage(sections.PageData):
    """What the gatherers of one agreement page share: the agreement, and values read once."""

    agreement: Agreement


Gatherer = Callable[[AgreementPage], Any]


def register_section(app: Flask, name: str, gather: Gatherer, template: str, order: int,
                     *, title: Any) -> None:
    """Add (or replace, by ``name``) a section of ``app``'s agreement page (from a blueprint's
    ``record_once`` hook)."""
    sections.register_section(app, PAGE, name, gather, template, order, title=title)


def gather_sections(agreement: Agreement) -> list[GatheredSection]:
    """Every registered section of the current app with its data for ``agreement``, in order
    (those with nothing to show left out)."""
    return sections.gather_sections(PAGE, AgreementPage(agreement))


def after_own_cards(gathered: list[GatheredSection]) -> dict[str, list[GatheredSection]]:
    """The gathered sections by the own card they follow (the last one whose place is not after
    theirs), in order: ``agreements/detail.html`` renders each list after that card."""
    placed: dict[str, list[GatheredSection]] = {card: [] for card in OWN_CARDS}
    for section in gathered:
        card = max((c for c, at in OWN_CARDS.items() if at <= section.order),
                   key=OWN_CARDS.__getitem__, default="terms")
        placed[card].append(section)
    return placed
