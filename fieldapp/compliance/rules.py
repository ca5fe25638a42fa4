"""Labels and the graduation of sanctions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from fieldapp.compliance.models import SANCTION_LEVELS

#: How far back confirmed sanctions count when proposing the next one.
SANCTION_MEMORY_DAYS = 730

FINDING_LABELS = {
    "met": _l("met"),
    "partial": _l("partly met"),
    "breached": _l("breached"),
    "not_checked": _l("not checked"),
}
LEVEL_LABELS = {
    "warning": _l("warning"),
    "reduced_benefits": _l("reduced benefits"),
    "suspension": _l("suspension"),
    "termination": _l("termination"),
}
SANCTION_STATUS_LABELS = {
    "proposed": _l("proposed"),
    "confirmed": _l("confirmed"),
    "dismissed": _l("dismissed"),
}


def next_level(highest_confirmed: str | None) -> str:
    """The sanction that follows the highest one already confirmed (warning first)."""
    if highest_confirmed is None:
        return SANCTION_LEVELS[0]
    index = SANCTION_LEVELS.index(highest_confirmed)
    return SANCTION_LEVELS[min(index + 1, len(SANCTION_LEVELS) - 1)]
