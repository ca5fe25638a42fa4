"""The grievance workflow as data: which step may follow which, and the due date of each.

Pure (no database, no request): the operations apply it to a form's action, and central's sync
rules (``fieldapp.nodes.rules.GrievanceRules``) to what a node pushes, from central's status.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fieldapp.grievances.models import OPEN_STATUSES

#: The statuses each status may move to. ``under_review`` may follow itself (handed to another
#: coordinator); an answer may be appealed once (``appealed``), and the appeal's answer closes
#: the way.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"acknowledged", "closed", "withdrawn"}),
    "acknowledged": frozenset({"under_review", "closed", "withdrawn"}),
    "under_review": frozenset({"under_review", "answered", "closed", "withdrawn"}),
    "answered": frozenset({"appealed", "closed"}),
    "appealed": frozenset({"appealed", "answered", "closed", "withdrawn"}),
    "closed": frozenset(),
    "withdrawn": frozenset(),
}


def may_move(current: str, target: str) -> bool:
    """Whether a grievance in ``current`` may move to ``target``."""
    return target in TRANSITIONS.get(current, frozenset())


def deadlines(received_on: date, config: Any) -> tuple[date, date]:
    """The days by which a grievance received on ``received_on`` must be acknowledged and
    answered (``GRIEVANCE_ACKNOWLEDGE_DAYS``, ``GRIEVANCE_ANSWER_DAYS``)."""
    return (received_on + timedelta(days=int(config["GRIEVANCE_ACKNOWLEDGE_DAYS"])),
            received_on + timedelta(days=int(config["GRIEVANCE_ANSWER_DAYS"])))


def appeal_due(appealed_on: date, config: Any) -> date:
    """The day an appeal made on ``appealed_on`` must be answered (``GRIEVANCE_APPEAL_DAYS``)."""
    return appealed_on + timedelta(days=int(config["GRIEVANCE_APPEAL_DAYS"]))


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    """Whether an open grievance's current step is past its due day."""
    return status in OPEN_STATUSES and due_on is not None and due_on < today
