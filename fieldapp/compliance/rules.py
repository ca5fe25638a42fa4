"""Labels and the graduation of sanctions."""

from __future__ import annotations

from fieldapp.compliance.models import SANCTION_LEVELS
from fieldapp.labels import LABELS

#: How far back confirmed sanctions count when proposing the next one.
SANCTION_MEMORY_DAYS = 730

FINDING_LABELS = LABELS["finding"]
LEVEL_LABELS = LABELS["sanction_level"]
SANCTION_STATUS_LABELS = LABELS["sanction_status"]


def next_level(highest_confirmed: str | None) -> str:
    """The sanction that follows the highest one already confirmed (warning first)."""
    if highest_confirmed is None:
        return SANCTION_LEVELS[0]
    index = SANCTION_LEVELS.index(highest_confirmed)
    return SANCTION_LEVELS[min(index + 1, len(SANCTION_LEVELS) - 1)]
