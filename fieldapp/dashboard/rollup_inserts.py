"""The statements that fill the dashboard's summary tables, for :func:`.rollups.refresh` to run.

One ``INSERT ... SELECT ... GROUP BY`` per summary table, for the communities in a scope (or
all of them), with sums kept per staff member; the rows for all communities together, summed
from the per-community rows; the family statuses of a day; the families-by-community figures
of a period and staff member. They only build statements: when they run, and under which
lock, is :mod:`.rollups`'s.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import case, func, insert, literal, select

from fieldapp.agreements.models import Agreement, AgreementBenefit, AgreementCommitment
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, VisitFinding
from fieldapp.dashboard.conditions import PROMISING_STATUSES, RENEWABLE_STATUSES, has_successor
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.models import (
    ALL_COMMUNITIES,
    NO_STAFF,
    AgreementTotal,
    DeliveryMonth,
    FamilyStatus,
    FindingMonth,
    PeriodFigures,
    PromiseDeliveryMonth,
    PromiseTotal,
    TrainingMonth,
    VisitMonth,
)
from fieldapp.dashboard.status import family_status, signed_quantity
from fieldapp.dashboard.trend import year_month
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession

Scope = list[uuid.UUID] | None  # None: every community


def in_scope(column: Any, scope: Scope) -> list[Any]:
    """The condition that ``column`` is a community of ``scope`` (none for every community)."""
    return [] if scope is None else [column.in_(scope)]


def _staff_key(id_column: Any, name_column: Any) -> tuple[Any, Any]:
    """Who made a record, as the summaries' key: (user id or :data:`NO_STAFF`, name or "")."""
    return (
        func.coalesce(id_column, literal(NO_STAFF, DeliveryMonth.staff_id.type)),
        func.coalesce(name_column, literal("")),
    )


def summary_inserts(scope: Scope) -> list[Any]:
    """One ``INSERT ... SELECT ... GROUP BY`` per summary table, for the communities in scope."""
    month = year_month(Delivery.delivered_on)
    deliverer = _staff_key(Delivery.delivered_by_id, Delivery.delivered_by_name)
    deliveries = (
        select(
            Family.community_id,
            month,
            Delivery.benefit_type_id,
            *deliverer,
            func.sum(case((Delivery.reverses_id.is_(None), 1), else_=0)),
            func.sum(case((Delivery.reverses_id.is_not(None), 1), else_=0)),
            func.sum(signed_quantity()),
        )
        .join(Family, Family.id == Delivery.family_id)
        .where(Delivery.voided.is_(False), *in_scope(Family.community_id, scope))
        .group_by(Family.community_id, month, Delivery.benefit_type_id, *deliverer)
    )
    month_v = year_month(ComplianceVisit.visited_on)
    monitor = _staff_key(ComplianceVisit.monitor_id, ComplianceVisit.monitor_name)
    visits = (
        select(Family.community_id, month_v, *monitor, func.count())
        .join(Family, Family.id == ComplianceVisit.family_id)
        .where(ComplianceVisit.voided.is_(False), *in_scope(Family.community_id, scope))
        .group_by(Family.community_id, month_v, *monitor)
    )
    results = ("met", "partial", "breached", "not_checked")
    findings = (
        select(
            Family.community_id,
            month_v,
            AgreementCommitment.commitment_type_id,
            *monitor,
            *[func.sum(case((VisitFinding.result == r, 1), else_=0)) for r in results],
        )
        .select_from(VisitFinding)
        .join(ComplianceVisit, ComplianceVisit.id == VisitFinding.visit_id)
        .join(Family, Family.id == ComplianceVisit.family_id)
        .join(AgreementCommitment, AgreementCommitment.id == VisitFinding.agreement_commitment_id)
        .where(
            VisitFinding.voided.is_(False),
            ComplianceVisit.voided.is_(False),
            *in_scope(Family.community_id, scope),
        )
        .group_by(Family.community_id, month_v, AgreementCommitment.commitment_type_id, *monitor)
    )
    attendees = (
        select(Attendance.session_id, func.count().label("n"))
        .where(Attendance.voided.is_(False))
        .group_by(Attendance.session_id)
        .subquery("attendees")
    )
    month_s = year_month(TrainingSession.held_on)
    trainer = _staff_key(TrainingSession.trainer_id, TrainingSession.trainer_name)
    trainings = (
        select(
            TrainingSession.community_id,
            month_s,
            *trainer,
            func.count(),
            func.sum(TrainingSession.duration_hours),
            func.sum(func.coalesce(attendees.c.n, 0)),
        )
        .outerjoin(attendees, attendees.c.session_id == TrainingSession.id)
        .where(TrainingSession.voided.is_(False), *in_scope(TrainingSession.community_id, scope))
        .group_by(TrainingSession.community_id, month_s, *trainer)
    )
    drafter = _staff_key(Agreement.created_by_id, Agreement.created_by_name)
    agreement_key = (Family.community_id, Agreement.period_start, Agreement.period_end)
    promising = Agreement.status.in_(PROMISING_STATUSES)
    promises = (
        select(
            *agreement_key,
            AgreementBenefit.benefit_type_id,
            *drafter,
            func.sum(AgreementBenefit.quantity),
        )
        .select_from(AgreementBenefit)
        .join(Agreement, Agreement.id == AgreementBenefit.agreement_id)
        .join(Family, Family.id == Agreement.family_id)
        .where(
            AgreementBenefit.voided.is_(False),
            Agreement.voided.is_(False),
            promising,
            *in_scope(Family.community_id, scope),
        )
        .group_by(*agreement_key, AgreementBenefit.benefit_type_id, *drafter)
    )
    against = (
        select(
            *agreement_key, Delivery.benefit_type_id, month, *drafter, func.sum(signed_quantity())
        )
        .select_from(Delivery)
        .join(Agreement, Agreement.id == Delivery.agreement_id)
        .join(Family, Family.id == Agreement.family_id)
        .where(
            Delivery.voided.is_(False),
            Agreement.voided.is_(False),
            promising,
            *in_scope(Family.community_id, scope),
        )
        .group_by(*agreement_key, Delivery.benefit_type_id, month, *drafter)
    )
    agreement_rows = (
        select(
            *agreement_key,
            Agreement.status,
            *drafter,
            func.count(),
            func.sum(
                case(
                    (Agreement.status.in_(RENEWABLE_STATUSES) & ~has_successor(Agreement), 1),
                    else_=0,
                )
            ),
        )
        .select_from(Agreement)
        .join(Family, Family.id == Agreement.family_id)
        .where(Agreement.voided.is_(False), *in_scope(Family.community_id, scope))
        .group_by(*agreement_key, Agreement.status, *drafter)
    )
    staff = ["staff_id", "staff_name"]
    return [
        insert(AgreementTotal).from_select(
            ["community_id", "period_start", "period_end", "status", *staff, "agreements",
             "unrenewed"],
            agreement_rows,
        ),
        insert(DeliveryMonth).from_select(
            ["community_id", "month", "benefit_type_id", *staff, "deliveries", "reversals",
             "quantity"],
            deliveries,
        ),
        insert(VisitMonth).from_select(["community_id", "month", *staff, "visits"], visits),
        insert(FindingMonth).from_select(
            ["community_id", "month", "commitment_type_id", *staff, *results], findings
        ),
        insert(TrainingMonth).from_select(
            ["community_id", "month", *staff, "sessions", "hours", "attendance"], trainings
        ),
        insert(PromiseTotal).from_select(
            ["community_id", "period_start", "period_end", "benefit_type_id", *staff, "promised"],
            promises,
        ),
        insert(PromiseDeliveryMonth).from_select(
            ["community_id", "period_start", "period_end", "benefit_type_id", "month", *staff,
             "quantity"],
            against,
        ),
    ]


def status_insert(asof: date, communities: list[uuid.UUID]) -> Any:
    """Insert the family statuses on ``asof`` of ``communities``."""
    f = Filters(date_from=asof, date_to=asof, today=asof)
    fs = family_status(
        f,
        [Family.voided.is_(False), Family.status == "active", Family.community_id.in_(communities)],
        with_period=False,
    )
    columns = [
        "family_id",
        "community_id",
        "status",
        "in_force",
        "has_active",
        "agreement_number",
        "agreement_status",
        "last_visit_on",
        "sanctions_in_force",
    ]
    return insert(FamilyStatus).from_select(
        ["asof", *columns],
        select(literal(asof, FamilyStatus.asof.type), *[fs.c[c] for c in columns]),
    )


def figures_staff(f: Filters) -> tuple[uuid.UUID, str]:
    """The staff key of ``f``'s families figures: the person chosen, or everyone's."""
    if f.staff_id is None:
        return NO_STAFF, ""
    return f.staff_id, f.staff_name or ""


def figures_insert(f: Filters, communities: list[uuid.UUID]) -> Any:
    """Insert the families-by-community figures of ``f`` (its period and staff member, whatever
    community it names) for ``communities``; communities without families get a row of zeros."""
    from fieldapp.dashboard.summaries import FIGURES, figures_select

    plain = Filters(
        date_from=f.date_from,
        date_to=f.date_to,
        today=f.today,
        staff_id=f.staff_id,
        staff_name=f.staff_name,
    )
    figures = figures_select(plain, communities).subquery("figures")
    staff_id, staff_name = figures_staff(f)
    stmt = (
        select(
            literal(f.asof, PeriodFigures.asof.type),
            literal(f"{f.date_from:%Y-%m}"),
            literal(f"{f.date_to:%Y-%m}"),
            literal(staff_id, PeriodFigures.staff_id.type),
            literal(staff_name),
            Community.id,
            *[func.coalesce(figures.c[k], 0) for k in FIGURES],
        )
        .select_from(Community)
        .outerjoin(figures, figures.c.community_id == Community.id)
        .where(Community.id.in_(communities))
    )
    return insert(PeriodFigures).from_select(
        ["asof", "month_from", "month_to", "staff_id", "staff_name", "community_id", *FIGURES],
        stmt,
    )


def all_communities_insert(table: Any) -> Any:
    """Rows of ``table`` summing every community, from its per-community rows."""
    columns = [c for c in table.__table__.columns if c.name != "community_id"]
    keys = [c for c in columns if c.primary_key]
    values = [c for c in columns if not c.primary_key]
    stmt = (
        select(
            literal(ALL_COMMUNITIES, table.community_id.type), *keys, *[func.sum(c) for c in values]
        )
        .where(table.community_id != ALL_COMMUNITIES)
        .group_by(*keys)
    )
    return insert(table).from_select(
        ["community_id", *[c.name for c in (*keys, *values)]], stmt
    )
