"""The dashboard's figures computed straight from the records, for tests: a reference for the
summary tables that production reads (:mod:`fieldapp.dashboard.summaries`).

Every figure is a GROUP BY over the records themselves, with the same definitions
(:mod:`fieldapp.dashboard.status`, :mod:`fieldapp.dashboard.conditions`) the summary tables are
built with; pass this module as ``figures`` to :func:`fieldapp.dashboard.overview.summary` to get
the whole summary from the records. It was production's "direct" path; production now has one
implementation of each figure (the summaries), and this stays as the oracle they are held to
(next to :mod:`tests.dashboard_expected`, which recomputes the figures in plain Python).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select

from fieldapp.agreements.models import (
    AGREEMENT_STATUSES,
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    CommitmentType,
)
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, VisitFinding
from fieldapp.dashboard.conditions import (
    agreement_scope,
    delivery_conditions,
    expiring_conditions,
    family_conditions,
    in_community,
    overlaps_period,
    promised_conditions,
    session_conditions,
    visit_conditions,
)
from fieldapp.dashboard.filters import Filters, month_end
from fieldapp.dashboard.queries import commitment_row, merge_benefits, num
from fieldapp.dashboard.status import (
    STATUSES,
    family_status,
    net_count,
    signed_quantity,
)
from fieldapp.dashboard.trend import trend_rows, year_month
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession


# -- families and compliance by community ---------------------------------------------------------
def families_by_community(f: Filters) -> list[dict[str, Any]]:
    """Per community: families registered, under agreement, with an active agreement, by
    compliance status, served in the period, compliant *and* served, that attended a training,
    and (under agreement) visited in the period."""
    fs = family_status(f, family_conditions(f))

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    stmt = (
        select(
            Community.id,
            Community.code,
            Community.name,
            func.count(fs.c.family_id).label("registered"),
            count_if(fs.c.in_force == 1).label("under_agreement"),
            count_if(fs.c.has_active == 1).label("active_agreement"),
            *[count_if(fs.c.status == s).label(s) for s in STATUSES],
            count_if(fs.c.received == 1).label("received"),
            count_if(and_(fs.c.received == 1, fs.c.status == "compliant")).label(
                "compliant_received"
            ),
            count_if(fs.c.attended == 1).label("attended"),
            count_if(and_(fs.c.visited == 1, fs.c.in_force == 1)).label("visited"),
        )
        .select_from(Community)
        .outerjoin(fs, fs.c.community_id == Community.id)
        .where(Community.voided.is_(False), *in_community(f, Community.id))
        .group_by(Community.id, Community.code, Community.name)
        .order_by(Community.name, Community.code)
    )
    if f.staff_id is not None:
        stmt = stmt.having(func.count(fs.c.family_id) > 0)
    return [dict(row._mapping) for row in db.session.execute(stmt)]


# -- agreements ------------------------------------------------------------------------------------
def _with_family(f: Filters, stmt: Any) -> Any:
    """``stmt`` on agreements joined to their family when a community is chosen (only then:
    the join costs a look-up per agreement and every agreement has its family)."""
    return stmt.join(Family, Family.id == Agreement.family_id) if f.community_id else stmt


def agreements_by_status(f: Filters) -> dict[str, int]:
    """Agreements whose period overlaps the selected one, by (current) status."""
    stmt = _with_family(
        f, select(Agreement.status, func.count()).select_from(Agreement)
    ).where(overlaps_period(f), *agreement_scope(f)).group_by(Agreement.status)
    found = dict(db.session.execute(stmt).all())
    return {status: int(found.get(status, 0)) for status in AGREEMENT_STATUSES}


def renewals_due(f: Filters) -> int:
    """How many agreements are due for renewal (see :func:`expiring_conditions`)."""
    stmt = _with_family(f, select(func.count()).select_from(Agreement)).where(
        *expiring_conditions(f), *agreement_scope(f)
    )
    return int(db.session.scalar(stmt) or 0)


# -- benefits --------------------------------------------------------------------------------------
def benefits(f: Filters, locale: str = "es") -> list[dict[str, Any]]:
    """Per benefit type: promised and delivered (to the snapshot day) on the period's agreements,
    and what was delivered in the period itself (quantity, deliveries and families, net)."""
    promised = dict(
        db.session.execute(
            select(AgreementBenefit.benefit_type_id, func.sum(AgreementBenefit.quantity))
            .join(Agreement, Agreement.id == AgreementBenefit.agreement_id)
            .join(Family, Family.id == Agreement.family_id)
            .where(AgreementBenefit.voided.is_(False), *promised_conditions(f))
            .group_by(AgreementBenefit.benefit_type_id)
        ).all()
    )
    against = dict(
        db.session.execute(
            select(Delivery.benefit_type_id, func.sum(signed_quantity()))
            .join(Agreement, Agreement.id == Delivery.agreement_id)
            .join(Family, Family.id == Agreement.family_id)
            .where(
                Delivery.voided.is_(False),
                Delivery.delivered_on <= month_end(f.asof),
                *promised_conditions(f),
            )
            .group_by(Delivery.benefit_type_id)
        ).all()
    )
    in_period = {
        row.benefit_type_id: row
        for row in db.session.execute(
            select(
                Delivery.benefit_type_id,
                func.sum(signed_quantity()).label("quantity"),
                net_count().label("deliveries"),
            )
            .join(Family, Family.id == Delivery.family_id)
            .where(*delivery_conditions(f))
            .group_by(Delivery.benefit_type_id)
        )
    }
    return merge_benefits(promised, against, in_period, locale)


def delivery_counts(f: Filters) -> dict[str, int]:
    """Deliveries and reversals dated in the period (counts)."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((Delivery.reverses_id.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Delivery.reverses_id.is_not(None), 1), else_=0)), 0),
        )
        .join(Family, Family.id == Delivery.family_id)
        .where(*delivery_conditions(f))
    ).one()
    return {"deliveries": int(row[0]), "reversals": int(row[1])}


# -- trainings and visits --------------------------------------------------------------------------
def training_counts(f: Filters) -> dict[str, Any]:
    """Sessions held in the period, their hours and attendance."""
    sessions = db.session.execute(
        select(func.count(), func.coalesce(func.sum(TrainingSession.duration_hours), 0)).where(
            *session_conditions(f)
        )
    ).one()
    attendance = db.session.scalar(
        select(func.count())
        .select_from(Attendance)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(Attendance.voided.is_(False), *session_conditions(f))
    )
    return {
        "sessions": int(sessions[0]),
        "hours": num(sessions[1]),
        "attendance": int(attendance or 0),
    }


def visit_count(f: Filters) -> int:
    """Visits made in the period (to families of the community, by the staff member)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ComplianceVisit)
            .join(Family, Family.id == ComplianceVisit.family_id)
            .where(*visit_conditions(f))
        )
        or 0
    )


def compliance_by_commitment(f: Filters, locale: str = "es") -> list[dict[str, Any]]:
    """Findings of the period's visits per commitment: met, partial, breached, not checked."""
    results = ("met", "partial", "breached", "not_checked")
    stmt = (
        select(
            CommitmentType.code,
            CommitmentType.text_es,
            CommitmentType.text_en,
            *[
                func.coalesce(func.sum(case((VisitFinding.result == r, 1), else_=0)), 0).label(r)
                for r in results
            ],
        )
        .select_from(VisitFinding)
        .join(ComplianceVisit, ComplianceVisit.id == VisitFinding.visit_id)
        .join(Family, Family.id == ComplianceVisit.family_id)
        .join(AgreementCommitment, AgreementCommitment.id == VisitFinding.agreement_commitment_id)
        .join(CommitmentType, CommitmentType.id == AgreementCommitment.commitment_type_id)
        .where(VisitFinding.voided.is_(False), *visit_conditions(f))
        .group_by(
            CommitmentType.id,
            CommitmentType.code,
            CommitmentType.text_es,
            CommitmentType.text_en,
            CommitmentType.position,
        )
        .order_by(CommitmentType.position)
    )
    return [commitment_row(row, locale) for row in db.session.execute(stmt)]


def trend(f: Filters) -> list[dict[str, Any]]:
    """Per month of the period: deliveries (net of reversals), visits and attendance."""
    month = year_month(Delivery.delivered_on)
    deliveries = dict(
        db.session.execute(
            select(month, net_count())
            .join(Family, Family.id == Delivery.family_id)
            .where(*delivery_conditions(f))
            .group_by(month)
        ).all()
    )
    month = year_month(ComplianceVisit.visited_on)
    visits_by = dict(
        db.session.execute(
            select(month, func.count())
            .join(Family, Family.id == ComplianceVisit.family_id)
            .where(*visit_conditions(f))
            .group_by(month)
        ).all()
    )
    month = year_month(TrainingSession.held_on)
    attendance = dict(
        db.session.execute(
            select(month, func.count(Attendance.id))
            .select_from(TrainingSession)
            .join(
                Attendance,
                and_(Attendance.session_id == TrainingSession.id, Attendance.voided.is_(False)),
            )
            .where(*session_conditions(f))
            .group_by(month)
        ).all()
    )
    return trend_rows(f, deliveries, visits_by, attendance)
