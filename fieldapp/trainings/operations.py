"""Creating training sessions and saving their attendance (a set per session)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from fieldapp.audit.operations import record, record_many, snapshot, values
from fieldapp.auth.access import check_write_scope
from fieldapp.codes import next_code
from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.models import current_node_id, new_id, utcnow
from fieldapp.submissions import local_today
from fieldapp.trainings.models import Attendance, TrainingSession


def _text(value: Any, field: str, limit: int, required: bool) -> str | None:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationFailed(_l("This field is required."), field=field)
    if len(text) > limit:
        raise ValidationFailed(_l("At most %(n)s characters.", n=limit), field=field)
    return text or None


def create_session(data: dict[str, Any], trainer_id: uuid.UUID | None = None) -> TrainingSession:
    """Create a training session.

    :param data: ``held_on``, ``topic``, ``community_id``, ``trainer_name``, ``place``,
        ``duration_hours``, ``notes``.
    :raises ValidationFailed: a missing or out-of-range value.
    """
    held_on = data.get("held_on")
    if not isinstance(held_on, date) or not date(2000, 1, 1) <= held_on <= date(2100, 12, 31):
        raise ValidationFailed(_l("Enter the date of the session."), field="held_on")
    try:
        community_id = uuid.UUID(str(data.get("community_id")))
    except ValueError:
        community_id = None
    community = db.session.get(Community, community_id) if community_id else None
    if community is None or community.voided:
        raise ValidationFailed(_l("Choose a community."), field="community_id")
    check_write_scope(community.id, "community_id")
    try:
        hours = Decimal(str(data.get("duration_hours")))
    except (InvalidOperation, ValueError):
        hours = Decimal(0)
    if not hours.is_finite() or not Decimal("0.5") <= hours <= 24:
        raise ValidationFailed(_l("Between 0.5 and 24."), field="duration_hours")
    session = TrainingSession(
        code=next_code("T"),
        held_on=held_on,
        topic=_text(data.get("topic"), "topic", 200, True),
        community_id=community.id,
        trainer_name=_text(data.get("trainer_name"), "trainer_name", 120, True),
        trainer_id=trainer_id,
        place=_text(data.get("place"), "place", 120, False),
        duration_hours=hours.quantize(Decimal("0.1")),
        notes=(data.get("notes") or "").strip() or None,
    )
    db.session.add(session)
    record("create", session)
    return session


def save_attendance(session: TrainingSession, present: dict[uuid.UUID, str | None],
                    shown: set[uuid.UUID]) -> TrainingSession:
    """Make the session's attendance agree with what was ticked.

    Ticked families are added (a family removed earlier comes back); families that were shown
    ticked and are now unticked are removed (voided). Families nobody saw are left alone, so two
    tablets taking attendance of one session do not undo each other.

    :param present: ticked family ids with the optional name of who came for the family.
    :param shown: family ids that were ticked when the form was shown.
    :raises ValidationFailed: the session is in the future, or a family is unknown.
    """
    check_write_scope(session.community_id)
    if session.held_on > local_today():
        raise ValidationFailed(_l("Attendance is taken on or after the day of the session."),
                               field="family")
    if present:
        known = set(db.session.execute(
            select(Family.id).where(Family.id.in_(list(present)), Family.voided.is_(False))
        ).scalars())
        if known != set(present):
            raise ValidationFailed(_l("Some ticked families are not registered."), field="family")
    rows = {a.family_id: a for a in db.session.execute(
        select(Attendance).where(Attendance.session_id == session.id)).scalars()}
    # Only what changes is checked: a family of another community that a coordinator ticked
    # stays on the sheet and does not block the field worker's own ticks.
    changed = {f for f, name in present.items()
               if f not in rows or rows[f].voided or rows[f].attendee_name != name}
    changed |= {f for f in shown - set(present) if f in rows and not rows[f].voided}
    for community_id in set(db.session.execute(
            select(Family.community_id).where(Family.id.in_(list(changed)))).scalars()):
        check_write_scope(community_id, "family")
    node = current_node_id()
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    entries: list[tuple[str, uuid.UUID, uuid.UUID, dict | None, dict[str, Any]]] = []
    for family_id, name in present.items():
        name = _text(name, f"name-{family_id}", 120, False)
        row = rows.get(family_id)
        if row is None:
            new = {"id": new_id(), "session_id": session.id, "family_id": family_id,
                   "attendee_name": name, "origin_node": node, "voided": False, "version": 1,
                   "created_at": now, "updated_at": now}
            new_rows.append(new)
            entries.append(("attendance:add", new["id"], family_id, None, values(new)))
        elif row.voided or row.attendee_name != name:
            before = snapshot(row)
            action = "attendance:add" if row.voided else "update"
            row.voided, row.attendee_name = False, name
            entries.append((action, row.id, family_id, before, snapshot(row)))
    for family_id in shown - set(present):
        row = rows.get(family_id)
        if row is not None and not row.voided:
            before = snapshot(row)
            row.voided = True
            entries.append(("attendance:remove", row.id, family_id, before, snapshot(row)))
    if new_rows:
        # A whole sheet of new rows in one executemany: the unit of work would take ten times
        # longer for a 60-family session.
        db.session.execute(insert(Attendance), new_rows)
    record_many(Attendance.__tablename__, entries)
    return session
