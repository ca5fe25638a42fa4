"""Training sessions and who attended them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.communities.models import Community
from fieldapp.families.models import Family
from fieldapp.models import Base, SyncedMixin


class TrainingSession(SyncedMixin, Base):
    """A training held in a community (e.g. coffee agroforestry pruning)."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("duration_hours > 0 AND duration_hours <= 24", name="duration_hours"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    held_on: Mapped[date] = mapped_column(index=True)
    topic: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"), index=True)
    trainer_name: Mapped[str] = mapped_column(String(120))
    trainer_id: Mapped[uuid.UUID | None]
    place: Mapped[str | None] = mapped_column(String(120))
    duration_hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    notes: Mapped[str | None] = mapped_column(Text)

    community: Mapped[Community] = relationship()
    attendance: Mapped[list[Attendance]] = relationship(back_populates="session")


class Attendance(SyncedMixin, Base):
    """A family's presence at a session; unique per session and family."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "family_id"),)

    # No single-column indexes: the unique (session, family) constraint serves look-ups by
    # session and the dashboard's (family, session, voided) index look-ups by family. Each
    # index costs every attendance save a write per ticked family.
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_sessions.id"))
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"))
    attendee_name: Mapped[str | None] = mapped_column(String(120))

    session: Mapped[TrainingSession] = relationship(back_populates="attendance")
    family: Mapped[Family] = relationship()
