"""Summary tables of the dashboard: derived data, rebuilt from the records, never synced.

The records (deliveries, visits, findings, attendance, agreements...) stay the truth. These
tables hold their monthly sums per community, plus rows summing all communities
(:data:`ALL_COMMUNITIES`), so the dashboard reads a few hundred rows instead of hundreds of
thousands. Database triggers (see :mod:`.triggers`) write the community
of every changed record into ``dash_dirty``; before answering, the dashboard recomputes the
marked communities (:mod:`.rollups`). Dropping every ``dash_*`` table's rows and marking
everything dirty is always safe.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.models import Base

#: The ``community_id`` of the rows that sum every community (the dashboard without a
#: community filter reads a few hundred rows instead of a few per community).
ALL_COMMUNITIES = uuid.UUID(int=0)
#: The ``staff_id`` of records made by nobody known by id (and of the figures for everyone);
#: ``staff_name`` is then ``""`` (primary-key columns cannot be NULL).
NO_STAFF = uuid.UUID(int=0)


class StaffKey:
    """Who made the records summed in a row: the person's user id and name as the records
    carry them (records imported or generated without a user id carry the name only). A staff
    filter matches a row by either, exactly as it matches a record."""

    staff_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    staff_name: Mapped[str] = mapped_column(String(120), primary_key=True)


class DirtyMark(Base):
    """A community whose summaries must be recomputed; ``community_id`` NULL means all."""

    __tablename__ = "dash_dirty"
    __table_args__ = (Index("ix_dash_dirty_community_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    community_id: Mapped[uuid.UUID | None]


class DeliveryMonth(StaffKey, Base):
    """Deliveries per community, month, benefit type and who delivered: counts, net quantity."""

    __tablename__ = "dash_delivery_months"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    benefit_type_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    deliveries: Mapped[int]
    reversals: Mapped[int]
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class VisitMonth(StaffKey, Base):
    """Compliance visits per community, month and monitor."""

    __tablename__ = "dash_visit_months"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    visits: Mapped[int]


class FindingMonth(StaffKey, Base):
    """Findings per community, month (of the visit), commitment type and monitor, by result."""

    __tablename__ = "dash_finding_months"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    commitment_type_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    met: Mapped[int]
    partial: Mapped[int]
    breached: Mapped[int]
    not_checked: Mapped[int]


class TrainingMonth(StaffKey, Base):
    """Training sessions held per community (of the session), month and trainer, hours and
    attendance."""

    __tablename__ = "dash_training_months"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    sessions: Mapped[int]
    hours: Mapped[Decimal] = mapped_column(Numeric(10, 1))
    attendance: Mapped[int]


class PromiseTotal(StaffKey, Base):
    """Benefits promised per community, agreement period, benefit type and who drafted the
    agreement, by the agreements that promise (signed, active, suspended, completed or
    terminated)."""

    __tablename__ = "dash_promises"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(primary_key=True)
    period_end: Mapped[date] = mapped_column(primary_key=True)
    benefit_type_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    promised: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class PromiseDeliveryMonth(StaffKey, Base):
    """Deliveries against the agreements that promise, by the agreement's period and drafter,
    per month."""

    __tablename__ = "dash_promise_deliveries"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(primary_key=True)
    period_end: Mapped[date] = mapped_column(primary_key=True)
    benefit_type_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class AgreementTotal(StaffKey, Base):
    """Agreements (not voided) per community, period, current status and who drafted them;
    ``unrenewed``: those no non-voided agreement replaces yet (renewal or amendment)."""

    __tablename__ = "dash_agreements"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(primary_key=True)
    period_end: Mapped[date] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    agreements: Mapped[int]
    unrenewed: Mapped[int]


class PeriodFigures(StaffKey, Base):
    """The families-by-community figures for one snapshot day, one period (of months) and one
    staff member's case load (:data:`NO_STAFF` and ``""``: everyone's).

    Computed on first demand for each (day, period, staff, community) and dropped with the
    community's summaries when it changes; every community of a built key has a row, even with
    no family.
    """

    __tablename__ = "dash_period_figures"

    asof: Mapped[date] = mapped_column(primary_key=True)
    month_from: Mapped[str] = mapped_column(String(7), primary_key=True)
    month_to: Mapped[str] = mapped_column(String(7), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    registered: Mapped[int]
    under_agreement: Mapped[int]
    active_agreement: Mapped[int]
    compliant: Mapped[int]
    non_compliant: Mapped[int]
    not_visited: Mapped[int]
    no_agreement: Mapped[int]
    received: Mapped[int]
    compliant_received: Mapped[int]
    attended: Mapped[int]
    visited: Mapped[int]


class FamilyStatus(Base):
    """Each family's compliance status on a day (see :mod:`.status`), kept per day asked."""

    __tablename__ = "dash_family_status"
    __table_args__ = (Index("ix_dash_family_status_asof_community", "asof", "community_id"),)

    asof: Mapped[date] = mapped_column(primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    community_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(16))
    in_force: Mapped[int]
    has_active: Mapped[int]
    agreement_number: Mapped[str | None] = mapped_column(String(40))
    agreement_status: Mapped[str | None] = mapped_column(String(12))
    last_visit_on: Mapped[date | None]
    sanctions_in_force: Mapped[int]


class StatusBuilt(Base):
    """Which (day, community) pairs of :class:`FamilyStatus` are computed and current."""

    __tablename__ = "dash_status_built"

    asof: Mapped[date] = mapped_column(primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


# Covering indexes on the records, for the statuses and the "received, attended, visited" checks
# (index-only look-ups instead of reading wide rows such as agreements' signed content).
def _indexes() -> None:
    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.trainings.models import Attendance

    a, d, v, t = Agreement, Delivery, ComplianceVisit, Attendance
    Index(
        "ix_dash_agreements_lookup",
        a.id,
        a.status,
        a.period_start,
        a.period_end,
        a.voided,
        a.family_id,
    )
    Index(
        "ix_dash_agreements_status",
        a.status,
        a.period_end,
        a.period_start,
        a.voided,
        a.family_id,
        a.number,
        a.id,
    )
    # These three also serve the pages' look-ups by status or by family (a family's deliveries,
    # visits and attendance): the single-column indexes they cover were dropped (migrations
    # 0008 and 0009). Keep them, or give those look-ups an index again. A delivery's reversal
    # is found by the unique index on reverses_id (migration 0012 dropped a second one).
    Index("ix_dash_deliveries_family", d.family_id, d.delivered_on, d.reverses_id, d.voided, d.id)
    Index("ix_dash_visits_family", v.family_id, v.visited_on, v.voided, v.agreement_id)
    Index("ix_dash_attendance_family", t.family_id, t.session_id, t.voided)


_indexes()
