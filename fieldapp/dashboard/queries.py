"""The dashboard's figures: every aggregate is a GROUP BY in SQL, on SQLite and PostgreSQL.

Python only merges a handful of already-aggregated rows (one per community, benefit type,
status or month); it never walks the big tables. Definitions live in :mod:`.status` and in
docs/using/dashboard.en.md ("Definitions"); which records each figure counts, in :mod:`.conditions`.
:func:`.overview.summary` gathers them (and the :mod:`.trend`) for the page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select

from fieldapp.agreements.models import (
    AGREEMENT_STATUSES,
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
)
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.compliance.models import SANCTION_LEVELS, ComplianceVisit, Sanction, VisitFinding
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
from fieldapp.dashboard.status import (
    STATUSES,
    family_status,
    net_count,
    sanction_in_force,
    signed_quantity,
)
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession


def num(value: Any) -> int | float:
    """A JSON-friendly number: integers stay integers."""
    if value is None:
        return 0
    if isinstance(value, Decimal | float):
        return int(value) if value == int(value) else round(float(value), 2)
    return int(value)


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
        .order_by(spanish(Community.name), Community.code)
    )
    if f.staff_id is not None:
        stmt = stmt.having(func.count(fs.c.family_id) > 0)
    return [dict(row._mapping) for row in db.session.execute(stmt)]


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Column sums of :func:`families_by_community` (a few dozen aggregated rows)."""
    keys = (
        "registered",
        "under_agreement",
        "active_agreement",
        *STATUSES,
        "received",
        "compliant_received",
        "attended",
        "visited",
    )
    return {k: sum(int(r[k]) for r in rows) for k in keys}


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


def merge_benefits(
    promised: dict[Any, Any], against: dict[Any, Any], in_period: dict[Any, Any], locale: str
) -> list[dict[str, Any]]:
    """One row per benefit type of the catalogue that has figures (a handful of rows)."""
    types = db.session.execute(
        select(BenefitType).where(BenefitType.voided.is_(False)).order_by(BenefitType.position)
    ).scalars()
    out = []
    for bt in types:
        row = in_period.get(bt.id)
        if bt.id not in promised and row is None and bt.id not in against:
            continue
        out.append(
            {
                "code": bt.code,
                "name": bt.name(locale),
                "category": bt.category,
                "unit": bt.default_unit,
                "promised": num(promised.get(bt.id)),
                "delivered_to_date": num(against.get(bt.id)),
                "delivered_in_period": num(row.quantity if row else 0),
                "deliveries_in_period": num(row.deliveries if row else 0),
            }
        )
    return out


def deliveries_in_period(f: Filters) -> dict[str, int]:
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
def trainings(f: Filters) -> dict[str, Any]:
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


def visits(f: Filters) -> int:
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


def commitment_row(row: Any, locale: str) -> dict[str, Any]:
    """A commitment's finding counts and its compliance rate (met over checked)."""
    counts = {r: int(getattr(row, r) or 0) for r in ("met", "partial", "breached", "not_checked")}
    checked = counts["met"] + counts["partial"] + counts["breached"]
    return {
        "code": row.code,
        "text": row.text_en if locale.startswith("en") else row.text_es,
        **counts,
        "rate": round(100 * counts["met"] / checked, 1) if checked else None,
    }


def sanctions(f: Filters) -> dict[str, Any]:
    """Sanctions in force on the snapshot day by level, and proposals awaiting a decision."""
    scope = family_conditions(f)
    by_level = dict(
        db.session.execute(
            select(Sanction.level, func.count())
            .join(Agreement, Agreement.id == Sanction.agreement_id)
            .join(Family, Family.id == Sanction.family_id)
            .where(sanction_in_force(f), *scope)
            .group_by(Sanction.level)
        ).all()
    )
    proposed = db.session.scalar(
        select(func.count())
        .select_from(Sanction)
        .join(Family, Family.id == Sanction.family_id)
        .where(
            Sanction.voided.is_(False),
            Sanction.status == "proposed",
            Sanction.created_at < f.asof_end_at,
            *scope,
        )
    )
    in_force = {level: int(by_level.get(level, 0)) for level in SANCTION_LEVELS}
    return {
        "in_force": in_force,
        "in_force_total": sum(in_force.values()),
        "proposed": int(proposed or 0),
    }
