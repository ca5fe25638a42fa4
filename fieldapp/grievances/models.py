"""A grievance and its step history (received → acknowledged → under review → answered → ...).

A grievance is never deleted: it ends withdrawn by the complainant or closed with a reason.
Each step is a :class:`GrievanceStep` row (an append-only event), and the grievance carries
its current status and the date its current step is due. A confidential grievance (about staff)
carries the flag on its steps too: central never sends either to a node
(``TableSpec.withhold``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.checks import one_of
from fieldapp.communities.models import Community
from fieldapp.families.models import Family
from fieldapp.models import Base, SyncedMixin

CHANNELS = ("in_person", "phone", "letter", "suggestion_box", "assembly")
STATUSES = ("received", "acknowledged", "under_review", "answered", "appealed", "closed",
            "withdrawn")
#: Statuses a grievance is still open in (its current step has a due date).
OPEN_STATUSES = ("received", "acknowledged", "under_review", "appealed")
#: The kinds of record a grievance may be about.
RELATED_KINDS = ("agreement", "delivery", "sanction", "visit")
#: The steps of the history: the statuses, and an assignment of an appeal's reviewer.
STEPS = STATUSES


class Grievance(SyncedMixin, Base):
    """A complaint from a family (or anonymous), tracked to an answer."""

    __tablename__ = "grievances"
    __table_args__ = (
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint("related_kind IS NULL OR " + one_of("related_kind", RELATED_KINDS),
                        name="related_kind"),
        Index("ix_grievances_status_due", "status", "due_on"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: The complainant's family; ``None``: anonymous.
    family_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id"), index=True)
    #: Where it belongs (the family's community, or the one an anonymous grievance names).
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    #: A code of the configured catalogue (``GRIEVANCE_CATEGORIES``).
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    related_kind: Mapped[str | None] = mapped_column(String(20))
    related_id: Mapped[uuid.UUID | None]
    #: About staff: only coordinators see it, never sent to a node, never opened by the staff
    #: member it names. Set when it is recorded, never changed.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The staff member a confidential grievance is about (user name and name as written).
    staff_username: Mapped[str | None] = mapped_column(String(64))
    staff_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="received")
    received_on: Mapped[date]
    acknowledge_due_on: Mapped[date]
    answer_due_on: Mapped[date]
    #: When the current step is due (``None`` once answered, closed or withdrawn).
    due_on: Mapped[date | None]
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    #: Who holds it (under review or appealed): a coordinator's user name and name.
    assigned_username: Mapped[str | None] = mapped_column(String(64))
    assigned_name: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    action_taken: Mapped[str | None] = mapped_column(Text)
    answered_by_username: Mapped[str | None] = mapped_column(String(64))
    answered_by_name: Mapped[str | None] = mapped_column(String(120))
    first_answered_at: Mapped[datetime | None]
    #: The program's day of the first answer (answered in time: on or before ``answer_due_on``).
    first_answered_on: Mapped[date | None]
    answered_at: Mapped[datetime | None]
    appealed_at: Mapped[datetime | None]
    #: Who answered before the appeal: the appeal goes to someone else.
    first_answered_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    closing_reason: Mapped[str | None] = mapped_column(Text)
    #: The random part of the public status page's address (the slip's QR).
    status_token: Mapped[str] = mapped_column(String(32), unique=True)

    family: Mapped[Family | None] = relationship()
    community: Mapped[Community] = relationship()
    steps: Mapped[list[GrievanceStep]] = relationship(
        back_populates="grievance", order_by="GrievanceStep.at")

    @property
    def anonymous(self) -> bool:
        return self.family_id is None


class GrievanceStep(SyncedMixin, Base):
    """One step of a grievance's history: who moved it to which status, when, with what note."""

    __tablename__ = "grievance_steps"
    __table_args__ = (CheckConstraint(one_of("step", STEPS), name="step"),)

    grievance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grievances.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    by_username: Mapped[str | None] = mapped_column(String(64))
    by_name: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    #: The grievance's flag, copied: a confidential grievance's steps never reach a node either.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    grievance: Mapped[Grievance] = relationship(back_populates="steps")
