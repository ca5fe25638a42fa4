"""The agreement's status machine and the guard that keeps signed versions unchanged.

::

    draft → signed → active ⇄ suspended
                     active | suspended → completed | terminated
    an amendment's activation marks the version it replaces ``superseded``

``draft → signed`` happens only by signing (which freezes the content and its hash).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, or_, select
from sqlalchemy.orm import Session

from fieldapp.agreements.content import content_verifies
from fieldapp.agreements.models import Agreement, AgreementBenefit, AgreementCommitment
from fieldapp.errors import AppError, TransitionRefused
from fieldapp.extensions import db
from fieldapp.labels import LABELS

#: Legal status changes through :func:`fieldapp.agreements.operations.change_status`.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset(),  # signing is its own operation
    "signed": frozenset({"active"}),
    "active": frozenset({"suspended", "completed", "terminated"}),
    "suspended": frozenset({"active", "completed", "terminated"}),
    "completed": frozenset(),
    "terminated": frozenset(),
    "superseded": frozenset(),
}
#: Changes that need a written reason.
NEEDS_REASON = frozenset({"suspended", "terminated"})
#: Statuses in which an agreement still binds the family (no second original for the period).
OPEN_STATUSES = ("draft", "signed", "active", "suspended")

#: Columns of an agreement that never change once it is signed.
FROZEN_COLUMNS = frozenset({
    "number", "family_id", "year", "period_start", "period_end", "kind", "version_no",
    "supersedes_id", "signed_at", "signed_place", "signed_lat", "signed_lon", "signed_on_paper",
    "signed_content", "content_hash", "voided", "starts_on_signing",
})


#: What may still change on a signed version (by change_status; central holds a node to it).
SIGNED_MUTABLE = frozenset({"status", "status_reason", "status_changed_at", "notes",
                            "updated_at"})
#: Columns only central writes: its flag of competing versions and the coordinator's decision.
CENTRAL_ONLY = frozenset({"conflict_flag"})
#: Statuses an amendment that retires the version before it holds (see transitions.py).
RETIRING_STATUSES = ("signed", "active")

#: A refusal of a change as (stable code, message) — central quarantines the operation with it.
Refusal = tuple[str, str]


def is_signed(row: Mapping[str, Any]) -> bool:
    """Whether a version (its values) has been signed: past draft, or its content frozen."""
    return row.get("status") not in (None, "draft") or row.get("content_hash") is not None


def new_version_refusal(row: Mapping[str, Any]) -> Refusal | None:
    """Why a new agreement version (its values) may not be recorded as it is, if it may not: a
    signed one must carry content whose hash verifies; the conflict flag is central's."""
    if row.get("conflict_flag") is not None:
        return "central_only", "Only central flags competing versions (conflict_flag)."
    if (is_signed(row) or row.get("signed_content") is not None) and not content_verifies(
            row.get("signed_content"), row.get("content_hash")):
        return "content_hash_mismatch", "The signed content does not match its content hash."
    return None


def change_refusal(current: Mapping[str, Any], changes: Mapping[str, Any],
                   successor_live: Callable[[], bool]) -> Refusal | None:
    """Why ``changes`` may not be made to the version ``current``, if they may not.

    The status moves only along :data:`TRANSITIONS` from the current one; a draft becomes signed
    only with its signed content and a hash that verifies; ``superseded`` only when a live signed
    or active amendment replaces it (``successor_live``, asked only then); a signed version's
    terms, content, hash and void flag never change.
    """
    if CENTRAL_ONLY & changes.keys():
        return "central_only", "Only central flags competing versions (conflict_flag)."
    if is_signed(current):
        fixed = set(changes) - SIGNED_MUTABLE
        if fixed:
            return ("signed_immutable", "A signed agreement is never edited; make an amendment "
                    f"({', '.join(sorted(fixed))}).")
    if "status" not in changes:
        if {"signed_content", "content_hash"} & changes.keys():
            return "illegal_transition", "Only signing sets an agreement's signed content."
        return None
    return _status_refusal(current, changes, successor_live)


def _status_refusal(current: Mapping[str, Any], changes: Mapping[str, Any],
                    successor_live: Callable[[], bool]) -> Refusal | None:
    """:func:`change_refusal` for a change of status."""
    was, to = current.get("status"), changes["status"]
    if current.get("voided") or changes.get("voided"):
        return "illegal_transition", "A voided agreement does not change status."
    if current.get("conflict_flag") == SET_ASIDE and to == "active":
        return "version_set_aside", "A version set aside on the conflict screen is never activated."
    if was == "draft" and to == "signed":
        merged = {**current, **changes}
        if not content_verifies(merged.get("signed_content"), merged.get("content_hash")):
            return ("content_hash_mismatch",
                    "The signed content does not match its content hash.")
        return None
    if {"signed_content", "content_hash"} & changes.keys():
        return "illegal_transition", "Only signing sets an agreement's signed content."
    if to == "superseded" and was in RETIRING_STATUSES and successor_live():
        return None
    if to == "superseded" or to not in TRANSITIONS.get(was, frozenset()):
        return "illegal_transition", f"An agreement cannot go from {was} to {to}."
    return None


def removal_refusal(current: Mapping[str, Any]) -> Refusal | None:
    """Why a version may not be deleted, if it may not: a signed one never is."""
    if is_signed(current):
        return "signed_immutable", "A signed agreement is never deleted."
    return None


class VersionSetAside(TransitionRefused):
    """Activating a competing version that a coordinator set aside."""

    code = "version_set_aside"
    message = _l("This version was set aside when the conflict was resolved; it cannot be "
                 "activated.")


#: ``conflict_flag`` of a competing version a coordinator did not keep (conflict screen).
SET_ASIDE = "set_aside"


def is_set_aside(agreement: Agreement) -> bool:
    """Whether a coordinator set this version aside in favour of a competing one.

    Two nodes may each sign an amendment of one base; central keeps both and a coordinator
    keeps one. The other stays in the record (signed versions are never deleted) but is not the
    agreement: it is not valid on /verify and can never be activated.
    """
    return agreement.conflict_flag == SET_ASIDE


def kept_version(agreement: Agreement) -> Agreement | None:
    """The competing version kept instead of a set-aside ``agreement`` (same base, signed)."""
    if not is_set_aside(agreement) or agreement.supersedes_id is None:
        return None
    return db.session.execute(
        select(Agreement)
        .where(Agreement.supersedes_id == agreement.supersedes_id, Agreement.id != agreement.id,
               Agreement.kind == agreement.kind, Agreement.voided.is_(False),
               Agreement.content_hash.is_not(None),
               or_(Agreement.conflict_flag.is_(None), Agreement.conflict_flag != SET_ASIDE))
        .order_by(Agreement.version_no.desc(), Agreement.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_not_set_aside(agreement: Agreement) -> None:
    """Refuse to put a set-aside version in force.

    :raises VersionSetAside: naming the kept version when there is one.
    """
    if not is_set_aside(agreement):
        return
    kept = kept_version(agreement)
    if kept is not None:
        raise VersionSetAside(
            _l("This version was set aside when the conflict was resolved; version %(version)s "
               "of %(number)s was kept instead and is the one to activate.",
               version=kept.version_no, number=kept.number))
    raise VersionSetAside(
        _l("This version was set aside when the conflict was resolved; it cannot be "
           "activated."))


class AgreementFrozen(AppError):
    """An attempt to change a signed version (use an amendment or a renewal)."""

    code = "agreement_frozen"
    status = 409
    message = _l("A signed agreement is never changed. Make an amendment or a renewal instead.")


def status_label(status: str) -> Any:
    """The status in the user's language."""
    return STATUS_LABELS.get(status, status)


STATUS_LABELS = LABELS["agreement_status"]
KIND_LABELS = LABELS["agreement_kind"]


def _was_signed(state: Any) -> bool:
    if state.pending or state.transient:  # not stored yet: it has no signed past to protect
        return False
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else state.attrs.status.value
    return before not in (None, "draft")


@event.listens_for(Session, "before_flush")
def _guard_signed_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Refuse, whatever the code path, a change to the terms of a signed version.

    Sync applies remote records with ``session.info["applying_remote"]`` and is not checked here:
    a node applies what central pulled to it (central's record, checked there), and central
    applies a push with Core statements, not through this guard, after checking each operation
    with :func:`change_refusal`, :func:`new_version_refusal` and :func:`removal_refusal`
    (``fieldapp.nodes.rules.AgreementRules``), so no push changes a signed version on central.
    """
    if session.info.get("applying_remote"):
        return
    for obj in session.dirty:
        if isinstance(obj, Agreement):
            state = inspect(obj)
            if not _was_signed(state):
                continue
            for key in FROZEN_COLUMNS:
                if state.attrs[key].history.has_changes():
                    raise AgreementFrozen()
        elif isinstance(obj, AgreementCommitment | AgreementBenefit):
            if session.is_modified(obj) and _parent_signed(session, obj):
                raise AgreementFrozen()
    for obj in session.new:
        if isinstance(obj, AgreementCommitment | AgreementBenefit) and _parent_signed(session, obj):
            raise AgreementFrozen()


def _parent_signed(session: Session, obj: AgreementCommitment | AgreementBenefit) -> bool:
    agreement = obj.agreement
    if agreement is None and obj.agreement_id is not None:
        agreement = session.get(Agreement, obj.agreement_id)
    if agreement is None:
        return False
    return _was_signed(inspect(agreement))


def _add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` ahead, clipped to the month's end (31 Jan + 1 month: 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for dd in (day.day, 30, 29, 28):
        try:
            return date(year, month, dd)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def default_period(today: date, cycle_start: str = "", months: int = 12) -> tuple[date, date]:
    """The period a new agreement's form proposes: from the signing day (``today``), or from the
    program's next cycle day ``"MM-DD"`` on or after it, for ``months`` months.

    Never backdated: a family signing in November does not get a period that began in January
    (the printed copy would promise benefits for months already gone)."""
    start = today
    if cycle_start:
        try:  # a mistyped setting proposes the signing day rather than failing the form
            month, day = (int(part) for part in str(cycle_start).split("-"))
            start = date(today.year, month, day)
            if start < today:
                start = date(today.year + 1, month, day)
        except ValueError:
            start = today
    return start, _add_months(start, months) - timedelta(days=1)


def period_on_signing(agreement: Agreement, day: date) -> tuple[date, date]:
    """The period ``agreement`` is signed with on ``day`` (what the printed copy says).

    Never backdated: a draft that starts on the signing day (``starts_on_signing``: the draft
    form's default, and every draft made on a tablet with no connection) and is signed after
    the day its period was to start runs from the signing day instead, for the same length (a
    draft made on Monday and signed on Thursday runs from Thursday). A period typed on purpose
    (the box unticked), an amendment's and a renewal's stay as drafted.
    """
    start, end = agreement.period_start, agreement.period_end
    if not agreement.starts_on_signing or agreement.kind != "original" or start >= day:
        return start, end
    return day, day + (end - start)
