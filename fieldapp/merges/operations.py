"""Merging one family registered twice, on central: every record of the merged family moves to
the survivor, which keeps a chosen value per field; the merged one stays as a tombstone.

A merge touches every domain that records something about a family (agreements, deliveries,
visits, sanctions, attendance, the audit log), so it lives above them all, not in the families
domain (which they all depend on).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
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
    from fieldapp.media.models import Attachment

    return [Agreement, Delivery, ComplianceVisit, Sanction, Grievance, Attachment, AuditEntry]


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
    moved = {model.__tablename__: [str(i) for i in db.session.execute(
        select(model.id).where(model.family_id == merged.id)).scalars()]
        for model in _family_tables()}
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
    moved[Attendance.__tablename__] = []
    undo: dict[str, Any] = {"moved": moved, "attendance_removed": [], "attendance_revived": []}
    for row in db.session.execute(
            select(Attendance).where(Attendance.family_id == merged.id)).scalars().all():
        kept = mine.get(row.session_id)
        if kept is None:
            row.family_id = survivor.id
            moved[Attendance.__tablename__].append(str(row.id))
            continue
        if kept.voided and not row.voided:  # present on either side: present
            kept.voided = False
            undo["attendance_revived"].append(str(kept.id))
        undo["attendance_removed"].append(snapshot(row) | {"id": str(row.id)})
        db.session.execute(delete(Attendance).where(Attendance.id == row.id))
    db.session.flush()
    record("merge", survivor, before=before_survivor, family_id=survivor.id)
    # What undoing the merge needs (:func:`undo_merge`), kept in the merged family's entry.
    undo |= {"survivor": {k: before_survivor.get(k) for k in (*EDITABLE, "consent_at")},
             "survivor_version": survivor.version, "counts": _record_counts(survivor.id),
             "merged_at": utcnow().isoformat()}
    record("merged_into", merged, before=before_merged, family_id=survivor.id,
           after=snapshot(merged) | {UNDO_KEY: undo})
    _close_dni_conflicts(survivor.id, merged.id, "same", user)
    return survivor


#: The key of a merge's audit entry (``merged_into``) that holds what undoing it needs.
UNDO_KEY = "undo"


def _counted_tables() -> list[Any]:
    """The records whose arrival on a survivor after its merge makes the merge final."""
    from fieldapp.trainings.models import Attendance

    return [m for m in (*_family_tables(), Attendance) if m.__tablename__ != "audit_log"]


def _record_counts(family_id: uuid.UUID) -> dict[str, int]:
    from sqlalchemy import func

    return {m.__tablename__: db.session.scalar(
        select(func.count()).select_from(m).where(m.family_id == family_id)) or 0
        for m in _counted_tables()}


def _merge_entry(merged: Family) -> Any:
    """The audit entry of ``merged``'s merge, holding what undoing it needs (the latest)."""
    from fieldapp.audit.models import AuditEntry

    return db.session.execute(
        select(AuditEntry).where(AuditEntry.entity_id == merged.id,
                                 AuditEntry.action == "merged_into")
        .order_by(AuditEntry.at.desc()).limit(1)).scalar_one_or_none()


def undo_refusal(merged: Family) -> Any:
    """Why the merge of ``merged`` cannot be undone (a message), or ``None`` when it can:
    nothing was recorded on the family it was merged into since (no new or changed record,
    no edit of the family itself)."""
    from sqlalchemy import func

    if merged.merged_into_id is None:
        return _l("This family is not merged into another.")
    survivor = db.session.get(Family, merged.merged_into_id)
    entry = _merge_entry(merged)
    undo = (entry.after or {}).get(UNDO_KEY) if entry is not None else None
    if survivor is None or survivor.merged_into_id is not None or not isinstance(undo, dict):
        return _l("This merge cannot be undone (the family it was merged into was merged in "
                  "turn, or the merge is older than undoing). Split the family by hand: register "
                  "the other family again and move its records.")
    merged_at = datetime.fromisoformat(undo["merged_at"])
    changed = survivor.version != undo.get("survivor_version") \
        or _record_counts(survivor.id) != undo.get("counts")
    for model in _counted_tables():
        if changed:
            break
        last = db.session.scalar(select(func.max(model.updated_at)).where(
            model.family_id == survivor.id))
        changed = last is not None and _aware(last) > merged_at
    if changed:
        return _l("Something was recorded on %(code)s since the merge, so undoing it could lose "
                  "or misplace it. Split the family by hand: register the other family again and "
                  "move its records.", code=survivor.code)
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def undo_merge(merged: Family, user: Any) -> Family:
    """Undo the merge of ``merged``, while nothing was recorded on the survivor since: the
    survivor takes back its values, every record that moved goes back, attendance as it was;
    ``merged`` is a live family again. Audited on both; the changed rows reach the nodes through
    the ordinary sync.

    :raises MergeRefused: ``final`` (see :func:`undo_refusal`), with the reason.
    """
    from sqlalchemy import update

    from fieldapp.trainings.models import Attendance

    refusal = undo_refusal(merged)
    if refusal is not None:
        raise MergeRefused(refusal, reason="final")
    survivor = db.session.get(Family, merged.merged_into_id)
    check_write_scope(survivor.community_id)
    undo = _merge_entry(merged).after[UNDO_KEY]
    before_survivor, before_merged = snapshot(survivor), snapshot(merged)
    for key, value in undo["survivor"].items():
        setattr(survivor, key, _column_value(Family, key, value))
    db.session.flush()  # the survivor gives back a DNI it took
    merged.voided = False
    merged.merged_into_id = None
    db.session.flush()
    for model in _family_tables() + [Attendance]:
        ids = [uuid.UUID(i) for i in undo["moved"].get(model.__tablename__, [])]
        if ids:
            db.session.execute(update(model).where(model.id.in_(ids))
                               .values(family_id=merged.id))
    for row_id in undo["attendance_revived"]:
        db.session.execute(update(Attendance).where(Attendance.id == uuid.UUID(row_id))
                           .values(voided=True))
    for row in undo["attendance_removed"]:
        db.session.add(Attendance(**{k: _column_value(Attendance, k, v) for k, v in row.items()
                                     if k in Attendance.__table__.c}))
    db.session.flush()
    record("unmerge", survivor, before=before_survivor, family_id=survivor.id)
    record("unmerged", merged, before=before_merged, family_id=merged.id)
    return survivor


def _column_value(model: Any, key: str, value: Any) -> Any:
    """A value of an audit snapshot (JSON) back as the column's Python type."""
    from datetime import date

    if value is None:
        return None
    column_type = model.__table__.c[key].type
    # A decorated type (UTC date-times) tells its kind through the type it decorates.
    kind = getattr(column_type, "impl_instance", column_type).python_type
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


def merge_cluster(survivor: Family, merged: list[Family], chosen_values: Mapping[str, Any],
                  user: Any, versions: Mapping[uuid.UUID, int] | None = None) -> Family:
    """Merge several registrations of one family (a cluster the review found) into
    ``survivor``: each of ``merged`` as :func:`merge_families` does, the chosen values taken
    with the last (every other registration is a tombstone by then, so a DNI chosen from one of
    them is free).

    :param versions: the versions the coordinator saw, by family id; a change since refuses.
    :raises MergeRefused: ``empty`` (no other family chosen), ``itself``, ``tombstone``,
        ``stale``.
    """
    if not merged:
        raise MergeRefused(_l("Choose at least one other family to merge."), reason="empty")
    if versions is not None:
        for family in (survivor, *merged):
            db.session.refresh(family)
            if versions.get(family.id) != family.version:
                raise MergeRefused(_l("One of these families changed since you opened this page "
                                      "(another coordinator, or a sync). Look at them again."),
                                   reason="stale")
    for n, other in enumerate(merged, 1):
        merge_families(survivor, other, chosen_values if n == len(merged) else {}, user)
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


def mark_all_distinct(families: list[Family], user: Any) -> None:
    """Remember that every two of ``families`` (a cluster reviewed together) are different."""
    for n, a in enumerate(families):
        for b in families[n + 1:]:
            mark_distinct(a, b, user)
