"""Merging one family registered twice, on central: every record of the merged family moves to
the survivor, which keeps a chosen value per field; the merged one stays as a tombstone.

A merge touches every domain that records something about a family (agreements, deliveries,
visits, sanctions, attendance, the audit log), so it lives above them all, not in the families
domain (which they all depend on).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.families.models import DistinctFamilies, Family
from fieldapp.families.operations import EDITABLE, clean_family_data, validate_family
from fieldapp.models import utcnow


class MergeRefused(AppError):
    """A merge that cannot be made (``details["reason"]`` says which rule)."""

    code = "merge_refused"
    status = 409
    message = _l("These families cannot be merged.")


def _family_tables() -> list[Any]:
    """The models whose records point at a family (re-pointed by a merge)."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.models import AuditEntry
    from fieldapp.compliance.models import ComplianceVisit, Sanction
    from fieldapp.deliveries.models import Delivery
    from fieldapp.grievances.models import Grievance

    return [Agreement, Delivery, ComplianceVisit, Sanction, Grievance, AuditEntry]


def merge_families(survivor: Family, merged: Family, chosen_values: Mapping[str, Any],
                   user: Any, versions: tuple[int, int] | None = None) -> Family:
    """Merge ``merged`` (one family registered twice) into ``survivor``, on central.

    The survivor takes ``chosen_values`` (field by field; a field not given keeps the
    survivor's); every record of the merged family (agreements, deliveries, visits,
    sanctions, attendance, audit) is re-pointed to the survivor, attendance as a set (a
    session both attended stays one row); the merged family becomes a voided tombstone naming
    the survivor (``merged_into_id``), which its page and code follow. The changed rows reach
    the nodes through the ordinary sync. The audit keeps both families' values before.

    :param versions: the (survivor, merged) versions the coordinator saw; a change since then
        refuses the merge (two coordinators at once, or a push in between).
    :raises MergeRefused: ``itself``, ``tombstone`` (either is merged or voided), ``stale``.
    :raises ValidationFailed: the chosen values break a family rule.
    """
    from sqlalchemy import delete, update

    from fieldapp.trainings.models import Attendance

    if survivor.id == merged.id:
        raise MergeRefused(_l("A family cannot be merged into itself."), reason="itself")
    # The two rows locked (PostgreSQL) and read again: of two coordinators merging at once,
    # the second sees the first's tombstone (SQLite serialises the writers).
    db.session.execute(select(Family.id).where(Family.id.in_([survivor.id, merged.id]))
                       .with_for_update())
    db.session.refresh(survivor)
    db.session.refresh(merged)
    if merged.merged_into_id is not None or survivor.merged_into_id is not None:
        raise MergeRefused(_l("One of these families was already merged."), reason="tombstone")
    if merged.voided or survivor.voided:
        raise MergeRefused(_l("A voided family cannot be merged."), reason="tombstone")
    if versions is not None and versions != (survivor.version, merged.version):
        raise MergeRefused(_l("One of these families changed since you opened this page (another "
                              "coordinator, or a sync). Look at them again."), reason="stale")
    check_write_scope(survivor.community_id)
    before_survivor, before_merged = snapshot(survivor), snapshot(merged)
    merged.voided = True
    merged.merged_into_id = survivor.id
    db.session.flush()  # the merged family's DNI is free for the survivor
    values = {key: getattr(survivor, key) for key in EDITABLE}
    values.update({k: v for k, v in chosen_values.items() if k in EDITABLE})
    clean = clean_family_data(values)
    validate_family(clean, survivor)
    if clean["data_consent"] and not survivor.data_consent:
        survivor.consent_at = merged.consent_at or utcnow()
    for key, value in clean.items():
        setattr(survivor, key, value)
    for model in _family_tables():
        db.session.execute(update(model).where(model.family_id == merged.id)
                           .values(family_id=survivor.id))
    # Attendance is a set per session and family: a session both attended stays one row.
    mine = {a.session_id: a for a in db.session.execute(
        select(Attendance).where(Attendance.family_id == survivor.id)).scalars()}
    for row in db.session.execute(
            select(Attendance).where(Attendance.family_id == merged.id)).scalars().all():
        kept = mine.get(row.session_id)
        if kept is None:
            row.family_id = survivor.id
            continue
        if kept.voided and not row.voided:  # present on either side: present
            kept.voided = False
        db.session.execute(delete(Attendance).where(Attendance.id == row.id))
    db.session.flush()
    record("merge", survivor, before=before_survivor, family_id=survivor.id)
    record("merged_into", merged, before=before_merged, family_id=survivor.id)
    _close_dni_conflicts(survivor.id, merged.id, "same", user)
    return survivor


def _close_dni_conflicts(a_id: uuid.UUID, b_id: uuid.UUID, resolution: str, user: Any) -> None:
    """Resolve the open "one DNI on two families" conflicts of this pair (sync flagged it on a
    push; the review decided it): one decision, not two screens asking it."""
    from sqlalchemy import and_, or_, update

    from fieldapp.nodes.models import SYNC_TABLES

    c = SYNC_TABLES.conflicts
    pair = or_(and_(c.c.row_id == a_id, c.c.other_row_id == b_id),
               and_(c.c.row_id == b_id, c.c.other_row_id == a_id))
    db.session.execute(update(c).where(c.c.status == "open", c.c.kind == "duplicate_dni", pair)
                       .values(status="resolved", resolution=resolution,
                               resolved_by=getattr(user, "username", None) or "?",
                               resolved_at=utcnow(), updated_at=utcnow()))


def mark_distinct(a: Family, b: Family, user: Any) -> None:
    """Remember that ``a`` and ``b`` are two families: never proposed as duplicates again."""
    if a.id == b.id:
        raise MergeRefused(_l("A family cannot be merged into itself."), reason="itself")
    first, second = sorted((a.id, b.id), key=str)
    exists = db.session.execute(select(DistinctFamilies.id).where(
        DistinctFamilies.family_a_id == first, DistinctFamilies.family_b_id == second)).first()
    if exists is None:
        db.session.add(DistinctFamilies(family_a_id=first, family_b_id=second,
                                        decided_by=getattr(user, "username", None) or "?"))
    db.session.flush()
    _close_dni_conflicts(a.id, b.id, "different", user)
