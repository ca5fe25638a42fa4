"""The grievance categories: a list in the configuration (``GRIEVANCE_CATEGORIES``), in both
languages.

A configuration list rather than a catalogue table like the commitment and benefit types: the
categories name no terms a family signs, change rarely, and are the same on every installation
of a program (its configuration), so they need no screens, no sync and no migration. A grievance
keeps the category's code; a code the list no longer has is shown as it is.
"""

from __future__ import annotations

from flask import current_app

from fieldapp.labels import config_label


def categories() -> dict[str, tuple[str, str]]:
    """The configured categories: code -> (Spanish, English)."""
    return dict(current_app.config["GRIEVANCE_CATEGORIES"])


def category_label(code: str, locale: str | None = None) -> str:
    """A category in ``locale`` (default: the request's language; the code itself when the list
    no longer has it): the label kind ``grievance_category``."""
    return config_label("grievance_category", code, locale)
