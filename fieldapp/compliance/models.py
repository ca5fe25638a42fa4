"""Compliance (monitoring) visits, their findings per commitment, and sanctions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.agreements.models import Agreement, AgreementCommitment
from fieldapp.checks import in_range, one_of
from fieldapp.families.models import Family
from fieldapp.models import Base, SyncedMixin

FINDING_RESULTS = ("met", "partial", "breached", "not_checked")
SANCTION_LEVELS = ("warning", "reduced_benefits", "suspension", "termination")
SANCTION_STATUSES = ("proposed", "confirmed", "dismissed")


class ComplianceVisit(SyncedMixin, Base):
    """A monitoring visit to a family's plot."""

    __tablename__ = "compliance_visits"
    __table_args__ = (
        CheckConstraint(in_range("lat", -90, 90), name="lat_range"),
        CheckConstraint(in_range("lon", -180, 180), name="lon_range"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    # Looked up through the dashboard's ix_dash_visits_family (family, date, ...).
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"))
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    visited_on: Mapped[date] = mapped_column(index=True)
    monitor_id: Mapped[uuid.UUID | None]
    monitor_name: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)

    family: Mapped[Family] = relationship()
    agreement: Mapped[Agreement] = relationship()
    findings: Mapped[list[VisitFinding]] = relationship(back_populates="visit")


class VisitFinding(SyncedMixin, Base):
    """The result of one visit for one commitment of the agreement."""

    __tablename__ = "visit_findings"
    __table_args__ = (
        UniqueConstraint("visit_id", "agreement_commitment_id"),
        CheckConstraint(one_of("result", FINDING_RESULTS), name="result"),
    )

    # Looked up through the unique (visit, commitment) constraint's index.
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("compliance_visits.id"))
    agreement_commitment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreement_commitments.id")
    )
    result: Mapped[str] = mapped_column(String(12))
    notes: Mapped[str | None] = mapped_column(Text)

    visit: Mapped[ComplianceVisit] = relationship(back_populates="findings")
    commitment: Mapped[AgreementCommitment] = relationship()


class Sanction(SyncedMixin, Base):
    """A graduated sanction proposed after a breach; a coordinator confirms or dismisses it."""

    __tablename__ = "sanctions"
    __table_args__ = (
        CheckConstraint(one_of("level", SANCTION_LEVELS), name="level"),
        CheckConstraint(one_of("status", SANCTION_STATUSES), name="status"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("compliance_visits.id"))
    level: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="proposed", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None]
    decided_by_name: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    decision_notes: Mapped[str | None] = mapped_column(Text)

    family: Mapped[Family] = relationship()
    agreement: Mapped[Agreement] = relationship()
