"""Moving an agreement along its status machine (see :mod:`fieldapp.agreements.rules`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from fieldapp.agreements.models import Agreement
from fieldapp.agreements.queries import overlapping_agreement
from fieldapp.agreements.rules import (
    NEEDS_REASON,
    TRANSITIONS,
    check_not_set_aside,
    status_label,
)
from fieldapp.agreements.signing import verify_content
from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.errors import TransitionRefused, ValidationFailed
from fieldapp.models import utcnow


def change_status(agreement: Agreement, to: str, reason: str | None = None) -> Agreement:
    """Move an agreement along the status machine (see :mod:`fieldapp.agreements.rules`).

    Activating an amendment marks the version it replaces ``superseded``. A renewal leaves the
    previous period's agreement alone (a coordinator completes it when its period ends), so
    deliveries of the current period keep their agreement.

    :raises TransitionRefused: the change is not allowed from the current status.
    :raises ValidationFailed: a suspension or termination without a reason.
    """
    check_write_scope(agreement.family.community_id)
    current = agreement.status
    if to == "signed" and current == "draft":
        raise TransitionRefused(_l("A draft becomes signed only by signing it."))
    if agreement.voided or to not in TRANSITIONS.get(current, frozenset()):
        raise TransitionRefused(
            _l("Agreement %(number)s cannot go from %(current)s to %(to)s.",
               number=agreement.number, current=status_label(current), to=status_label(to)),
            current=current, to=to,
        )
    reason = " ".join((reason or "").split()) or None
    if to in NEEDS_REASON and not reason:
        raise ValidationFailed(_l("Write the reason."), field="reason")
    if reason and len(reason) > 500:
        raise ValidationFailed(_l("At most 500 characters."), field="reason")
    if to == "active" and current == "signed":
        _check_activation(agreement)
    before = snapshot(agreement)
    agreement.status = to
    agreement.status_reason = reason
    agreement.status_changed_at = utcnow()
    record(f"status:{to}", agreement, before=before, family_id=agreement.family_id)
    if to == "active" and current == "signed" and agreement.kind == "amendment":
        _retire_previous(agreement)
    return agreement


def _check_activation(agreement: Agreement) -> None:
    check_not_set_aside(agreement)
    if not verify_content(agreement):
        raise TransitionRefused(_l("The signed content does not match its hash; it cannot be "
                                   "activated."))
    previous = agreement.supersedes
    if agreement.kind == "amendment" and previous is not None and previous.status not in (
        "signed", "active"
    ):
        raise TransitionRefused(
            _l("The version it amends, %(number)s, is %(status)s; this amendment cannot take "
               "its place.", number=previous.number, status=status_label(previous.status)))
    if agreement.kind == "renewal" and previous is not None and previous.status in (
        "suspended", "terminated"
    ):
        raise TransitionRefused(
            _l("The previous agreement %(number)s is %(status)s; it cannot be renewed.",
               number=previous.number, status=status_label(previous.status)))
    clash = overlapping_agreement(agreement.family_id, agreement.period_start,
                                  agreement.period_end, ("active", "suspended"),
                                  (agreement.id, agreement.supersedes_id))
    if clash is not None:
        raise TransitionRefused(
            _l("Agreement %(number)s is already in force for this period.", number=clash.number))


def _retire_previous(agreement: Agreement) -> None:
    previous = agreement.supersedes
    if previous is None:
        return
    before = snapshot(previous)
    previous.status = "superseded"
    previous.status_reason = None
    previous.status_changed_at = utcnow()
    record("status:superseded", previous, before=before, family_id=previous.family_id)
