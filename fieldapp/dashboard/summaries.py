"""The dashboard's figures read from the summary tables (see :mod:`.rollups`).

The one implementation of the figures in production. The same numbers computed straight from the
records live in tests/dashboard_direct.py (the tests hold them equal on SQLite and PostgreSQL); here
they are read from a few thousand pre-summed rows. The sums are kept per staff member (who
delivered, visited, trained, drafted the agreement), so a staff filter reads them too: it picks the
rows of that person's user id or name, as :meth:`.Filters.staff_match` picks records.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from fieldapp.agreements.models import AGREEMENT_STATUSES, CommitmentType
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.dashboard import queries as q
from fieldapp.dashboard.conditions import RENEWABLE_STATUSES, drafted_by_staff, in_community
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.models import (
    ALL_COMMUNITIES,
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
from fieldapp.dashboard.status import STATUSES, period_flags
from fieldapp.dashboard.trend import trend_rows
from fieldapp.extensions import db


def _months(f: Filters, column: Any) -> list[Any]:
    return [column >= f"{f.date_from:%Y-%m}", column <= f"{f.date_to:%Y-%m}"]


def _community(f: Filters, column: Any) -> list[Any]:
    return in_community(f, column)


def _summed(f: Filters, table: Any) -> list[Any]:
    """The rows of the chosen community (or the rows summing all communities) and of the
    chosen staff member (or everyone's)."""
    conditions = [
        table.community_id == (f.community_id if f.community_id is not None else ALL_COMMUNITIES)
    ]
    if f.staff_id is not None:
        conditions.append(or_(table.staff_id == f.staff_id, table.staff_name == f.staff_name))
    return conditions


FIGURES = q.FIGURES  # also read by rollup_inserts


def figures_select(f: Filters, communities: list[Any] | None = None) -> Any:
    """Per community: the families figures from the statuses on ``f.asof`` and what each family
    did in the period (one grouped query; the flags are index look-ups per family).

    :param communities: only these communities (``None``: those of the filters).
    """
    conditions = [FamilyStatus.asof == f.asof]
    if communities is not None:
        conditions.append(FamilyStatus.community_id.in_(communities))
    else:
        conditions += _community(f, FamilyStatus.community_id)
    if f.staff_id is not None:
        conditions.append(FamilyStatus.family_id.in_(drafted_by_staff(f)))
    fl = (
        select(
            FamilyStatus.family_id,
            FamilyStatus.community_id,
            FamilyStatus.status,
            FamilyStatus.in_force,
            FamilyStatus.has_active,
            *period_flags(f, FamilyStatus.family_id),
        )
        .where(*conditions)
        .subquery("flags")
    )

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return select(
        fl.c.community_id,
        func.count().label("registered"),
        count_if(fl.c.in_force == 1).label("under_agreement"),
        count_if(fl.c.has_active == 1).label("active_agreement"),
        *[count_if(fl.c.status == s).label(s) for s in STATUSES],
        count_if(fl.c.received == 1).label("received"),
        count_if(and_(fl.c.received == 1, fl.c.status == "compliant")).label("compliant_received"),
        count_if(fl.c.attended == 1).label("attended"),
        count_if(and_(fl.c.visited == 1, fl.c.in_force == 1)).label("visited"),
    ).group_by(fl.c.community_id)


def families_by_community(f: Filters) -> list[dict[str, Any]]:
    """As tests/dashboard_direct.py's :func:`families_by_community`, from the figures cached
    per snapshot day, period and staff member
    (built from the statuses by :func:`.rollups.refresh`)."""
    from fieldapp.dashboard.rollup_inserts import figures_staff

    staff_id, staff_name = figures_staff(f)
    figures = (
        select(PeriodFigures.community_id, *[getattr(PeriodFigures, k) for k in FIGURES])
        .where(
            PeriodFigures.asof == f.asof,
            PeriodFigures.month_from == f"{f.date_from:%Y-%m}",
            PeriodFigures.month_to == f"{f.date_to:%Y-%m}",
            PeriodFigures.staff_id == staff_id,
            PeriodFigures.staff_name == staff_name,
        )
        .subquery("figures")
    )
    stmt = (
        select(
            Community.id,
            Community.code,
            Community.name,
            *[func.coalesce(figures.c[k], 0).label(k) for k in FIGURES],
        )
        .select_from(Community)
        .outerjoin(figures, figures.c.community_id == Community.id)
        .where(Community.voided.is_(False), *_community(f, Community.id))
        .order_by(spanish(Community.name), Community.code)
    )
    if f.staff_id is not None:
        stmt = stmt.where(figures.c.registered > 0)
    return [dict(row._mapping) for row in db.session.execute(stmt)]


def agreements_by_status(f: Filters) -> dict[str, int]:
    """As tests/dashboard_direct.py's :func:`agreements_by_status`, from the summaries."""
    a = AgreementTotal
    found = dict(
        db.session.execute(
            select(a.status, func.sum(a.agreements))
            .where(a.period_start <= f.date_to, a.period_end >= f.date_from, *_summed(f, a))
            .group_by(a.status)
        ).all()
    )
    return {status: int(found.get(status) or 0) for status in AGREEMENT_STATUSES}


def renewals_due(f: Filters) -> int:
    """As tests/dashboard_direct.py's :func:`renewals_due`, from the summaries."""
    a = AgreementTotal
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(a.unrenewed), 0)).where(
                a.status.in_(RENEWABLE_STATUSES),
                a.period_end >= f.asof,
                a.period_end <= f.asof + timedelta(days=f.days),
                *_summed(f, a),
            )
        )
        or 0
    )


def benefits(f: Filters, locale: str) -> list[dict[str, Any]]:
    """As tests/dashboard_direct.py's :func:`benefits`, from the summaries."""
    promising = [
        PromiseTotal.period_start <= f.date_to,
        PromiseTotal.period_end >= f.date_from,
        *_summed(f, PromiseTotal),
    ]
    promised = dict(
        db.session.execute(
            select(PromiseTotal.benefit_type_id, func.sum(PromiseTotal.promised))
            .where(*promising)
            .group_by(PromiseTotal.benefit_type_id)
        ).all()
    )
    p = PromiseDeliveryMonth
    against = dict(
        db.session.execute(
            select(p.benefit_type_id, func.sum(p.quantity))
            .where(
                p.period_start <= f.date_to,
                p.period_end >= f.date_from,
                p.month <= f"{f.asof:%Y-%m}",
                *_summed(f, p),
            )
            .group_by(p.benefit_type_id)
        ).all()
    )
    in_period = {
        row.benefit_type_id: row
        for row in db.session.execute(
            select(
                DeliveryMonth.benefit_type_id,
                func.sum(DeliveryMonth.quantity).label("quantity"),
                func.sum(DeliveryMonth.deliveries - DeliveryMonth.reversals).label("deliveries"),
            )
            .where(*_months(f, DeliveryMonth.month), *_summed(f, DeliveryMonth))
            .group_by(DeliveryMonth.benefit_type_id)
        )
    }
    return q.merge_benefits(promised, against, in_period, locale)


def delivery_counts(f: Filters) -> dict[str, int]:
    """Deliveries and reversals dated in the period."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(DeliveryMonth.deliveries), 0),
            func.coalesce(func.sum(DeliveryMonth.reversals), 0),
        ).where(*_months(f, DeliveryMonth.month), *_summed(f, DeliveryMonth))
    ).one()
    return {"deliveries": int(row[0]), "reversals": int(row[1])}


def training_counts(f: Filters) -> dict[str, Any]:
    """Sessions held, their hours and attendance, in the communities chosen."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(TrainingMonth.sessions), 0),
            func.coalesce(func.sum(TrainingMonth.hours), 0),
            func.coalesce(func.sum(TrainingMonth.attendance), 0),
        ).where(*_months(f, TrainingMonth.month), *_summed(f, TrainingMonth))
    ).one()
    return {"sessions": int(row[0]), "hours": q.num(row[1]), "attendance": int(row[2])}


def visit_count(f: Filters) -> int:
    """Compliance visits made in the period to families of the communities chosen."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(VisitMonth.visits), 0)).where(
                *_months(f, VisitMonth.month), *_summed(f, VisitMonth)
            )
        )
        or 0
    )


def compliance_by_commitment(f: Filters, locale: str) -> list[dict[str, Any]]:
    """As tests/dashboard_direct.py's :func:`compliance_by_commitment`, from the summaries."""
    results = ("met", "partial", "breached", "not_checked")
    stmt = (
        select(
            CommitmentType.code,
            CommitmentType.text_es,
            CommitmentType.text_en,
            *[func.sum(getattr(FindingMonth, r)).label(r) for r in results],
        )
        .join(CommitmentType, CommitmentType.id == FindingMonth.commitment_type_id)
        .where(*_months(f, FindingMonth.month), *_summed(f, FindingMonth))
        .group_by(
            CommitmentType.id,
            CommitmentType.code,
            CommitmentType.text_es,
            CommitmentType.text_en,
            CommitmentType.position,
        )
        .order_by(CommitmentType.position)
    )
    return [q.commitment_row(row, locale) for row in db.session.execute(stmt)]


def trend(f: Filters) -> list[dict[str, Any]]:
    """Per month: deliveries (net), visits and attendance, from the summaries."""

    def by_month(model: Any, value: Any) -> dict[str, int]:
        return dict(
            db.session.execute(
                select(model.month, func.sum(value))
                .where(*_months(f, model.month), *_summed(f, model))
                .group_by(model.month)
            ).all()
        )

    return trend_rows(
        f,
        by_month(DeliveryMonth, DeliveryMonth.deliveries - DeliveryMonth.reversals),
        by_month(VisitMonth, VisitMonth.visits),
        by_month(TrainingMonth, TrainingMonth.attendance),
    )
