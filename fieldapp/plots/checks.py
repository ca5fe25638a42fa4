"""The rules on an alert's answer (one implementation: the visit form and central's check of
what a node pushes)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from fieldapp.plots.models import ALERT_ANSWERS

#: The largest clearing a visit may report (hectares).
MAX_CLEARED_HA = 10_000.0


def answer_problem(values: Mapping[str, Any]) -> Any:
    """What is wrong with an alert check's answer, or ``None``: an answered check says how
    (confirmed clearing, false alarm, clearing outside the plot); a confirmed clearing gives
    its area in hectares (more than 0)."""
    if values.get("status") == "open":
        return None if values.get("answer") is None else _l("An open alert has no answer yet.")
    answer = values.get("answer")
    if answer not in ALERT_ANSWERS:
        return _l("Say what the visit found: clearing confirmed, a false alarm, or clearing "
                  "outside the plot.")
    cleared = values.get("cleared_ha")
    if answer == "confirmed":
        if isinstance(cleared, bool) or not isinstance(cleared, int | float) \
                or not math.isfinite(cleared) or not 0 < cleared <= MAX_CLEARED_HA:
            return _l("A confirmed clearing needs its area: hectares more than 0.")
    elif cleared not in (None, 0, 0.0):
        return _l("Only a confirmed clearing has an area.")
    return None
