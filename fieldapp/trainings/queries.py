"""Reading trainings: session lists, a session's attendance sheet, a family's attendance rate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from fieldapp.collation import spanish
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.submissions import local_date
from fieldapp.trainings.models import Attendance, TrainingSession


def session_list(community_id: uuid.UUID | None = None,
                 community_ids: list[uuid.UUID] | None = None) -> Select[Any]:
    """Sessions, newest first (see :func:`present_counts` for the page's attendance)."""
    stmt = (
        select(TrainingSession)
        .options(joinedload(TrainingSession.community))
        .where(TrainingSession.voided.is_(False))
        .order_by(TrainingSession.held_on.desc(), TrainingSession.code.desc())
    )
    if community_id:
        stmt = stmt.where(TrainingSession.community_id == community_id)
    if community_ids is not None:
        stmt = stmt.where(TrainingSession.community_id.in_(community_ids))
    return stmt


def present_counts(session_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many families attended each of these sessions."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Attendance.session_id, func.count(Attendance.id))
        .where(Attendance.session_id.in_(session_ids), Attendance.voided.is_(False))
        .group_by(Attendance.session_id)
    ).all()
    return dict(rows)


@dataclass
class SheetRow:
    """One family on a session's attendance sheet."""

    family: Family
    present: bool
    attendee_name: str | None


def attendance_sheet(session: TrainingSession) -> list[SheetRow]:
    """The community's families (and anyone else who attended), by name, with their attendance."""
    attendance = {
        a.family_id: a for a in db.session.execute(
            select(Attendance).where(Attendance.session_id == session.id,
                                     Attendance.voided.is_(False))
        ).scalars()
    }
    families = db.session.execute(
        select(Family)
        .where(Family.voided.is_(False),
               or_(Family.community_id == session.community_id,
                   Family.id.in_(list(attendance)) if attendance else False))
        .order_by(spanish(Family.head_surname), spanish(Family.head_given_names), Family.code)
    ).scalars()
    return [
        SheetRow(f, f.id in attendance,
                 attendance[f.id].attendee_name if f.id in attendance else None)
        for f in families
    ]


@dataclass
class AttendanceSummary:
    """How often a family came to the trainings it was invited to."""

    attended: int = 0
    invited: int = 0
    recent: list[TrainingSession] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Share of sessions attended (``None`` when there was none)."""
        return self.attended / self.invited if self.invited else None


def family_attendance(family: Family) -> AttendanceSummary:
    """Sessions of the family's community held since it registered (plus any it attended
    elsewhere), how many it attended, and the latest ones it attended."""
    attended_ids = select(Attendance.session_id).where(
        Attendance.family_id == family.id, Attendance.voided.is_(False))
    since = local_date(family.created_at)  # the day it registered, in Peru, not in UTC
    invited = db.session.scalar(
        select(func.count(TrainingSession.id)).where(
            TrainingSession.voided.is_(False),
            or_(
                (TrainingSession.community_id == family.community_id)
                & (TrainingSession.held_on >= since),
                TrainingSession.id.in_(attended_ids),
            ),
        )
    ) or 0
    recent = list(db.session.execute(
        select(TrainingSession)
        .where(TrainingSession.id.in_(attended_ids), TrainingSession.voided.is_(False))
        .order_by(TrainingSession.held_on.desc())
    ).scalars())
    return AttendanceSummary(attended=len(recent), invited=invited, recent=recent[:5])
