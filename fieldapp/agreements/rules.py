"""The agreement's status machine and the guard that keeps signed versions unchanged.

::

    draft → signed → active ⇄ suspended
                     active | suspended → completed | terminated
    an amendment's activation marks the version it replaces ``superseded``

``draft → signed`` happens only by signing (which freezes the content and its hash).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from fieldapp.agreements.models import Agreement, AgreementBenefit, AgreementCommitment
from fieldapp.errors import AppError

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
    "signed_content", "content_hash", "voided",
})


class AgreementFrozen(AppError):
    """An attempt to change a signed version (use an amendment or a renewal)."""

    code = "agreement_frozen"
    status = 409
    message = _l("A signed agreement is never changed. Make an amendment or a renewal instead.")


def status_label(status: str) -> Any:
    """The status in the user's language."""
    return STATUS_LABELS.get(status, status)


STATUS_LABELS = {
    "draft": _l("draft"),
    "signed": _l("signed"),
    "active": _l("active"),
    "suspended": _l("suspended"),
    "completed": _l("completed"),
    "terminated": _l("terminated"),
    "superseded": _l("superseded"),
}
KIND_LABELS = {
    "original": _l("original"),
    "amendment": _l("amendment"),
    "renewal": _l("renewal"),
}


def _was_signed(state: Any) -> bool:
    if state.pending or state.transient:  # not stored yet: it has no signed past to protect
        return False
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else state.attrs.status.value
    return before not in (None, "draft")


@event.listens_for(Session, "before_flush")
def _guard_signed_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Refuse, whatever the code path, a change to the terms of a signed version.

    Sync applies remote records with ``session.info["applying_remote"]`` and is not checked here
    (a signed record arriving from another node is already frozen there).
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
