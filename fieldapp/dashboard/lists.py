"""Lists that answer questions: who was not visited, what expires, what is owed, who is
suspended, which deliveries look doubled. Each is a :class:`~.datasets.Dataset` (so it pages on
screen and exports like any entity)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, exists, func, literal, select, union_all
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import Agreement, AgreementBenefit, BenefitType
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.dashboard.conditions import (
    agreement_scope,
    delivery_conditions,
    expiring_conditions,
    family_conditions,
    overlaps_period,
)
from fieldapp.dashboard.datasets import (
    Col,
    Dataset,
    family_cols,
    placeholder_filters,
    select_columns,
)
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.status import agreement_in_force, signed_quantity
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day when it is shorter)."""
    from fieldapp.dashboard.filters import month_end

    index = day.year * 12 + day.month - 1 - months
    first = date(index // 12, index % 12 + 1, 1)
    return first.replace(day=min(day.day, month_end(first).day))


# -- families with no visit in the last N months ---------------------------------------------------
def _no_visit_parts(f: Filters) -> tuple[Any, Any, list[Col]]:
    last = (
        select(ComplianceVisit.family_id, func.max(ComplianceVisit.visited_on).label("last_on"))
        .where(ComplianceVisit.voided.is_(False), ComplianceVisit.visited_on <= f.asof)
        .group_by(ComplianceVisit.family_id)
        .subquery("last_visit")
    )
    current = (
        select(Agreement.family_id, func.max(Agreement.number).label("number"))
        .where(agreement_in_force(f))
        .group_by(Agreement.family_id)
        .subquery("current_agreement")
    )
    cols = [
        *family_cols(),
        Col("agreement_number", _l("Agreement in force"), current.c.number),
        Col("last_visit_on", _l("Latest visit"), last.c.last_on, "date"),
    ]
    return last, current, cols


def _no_visit(f: Filters) -> Select[Any]:
    last, current, cols = _no_visit_parts(f)
    cutoff = months_before(f.asof, f.months)
    return (
        select_columns(cols)
        .select_from(Family)
        .join(Community, Community.id == Family.community_id)
        .join(current, current.c.family_id == Family.id)
        .outerjoin(last, last.c.family_id == Family.id)
        .where(*family_conditions(f), (last.c.last_on.is_(None)) | (last.c.last_on < cutoff))
        .order_by(last.c.last_on.nulls_first(), Family.code)
    )


# -- agreements expiring ---------------------------------------------------------------------------
def _expiring_cols() -> list[Col]:
    return [
        Col("agreement_id", _l("Agreement id"), Agreement.id, "uuid"),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("status", _l("Status"), Agreement.status, labels="agreement_status"),
        Col("period_end", _l("Ends"), Agreement.period_end, "date"),
        *family_cols(),
    ]


def _expiring(f: Filters) -> Select[Any]:
    return (
        select_columns(_expiring_cols())
        .select_from(Agreement)
        .join(Family, Family.id == Agreement.family_id)
        .join(Community, Community.id == Family.community_id)
        .where(*expiring_conditions(f), *agreement_scope(f), Family.voided.is_(False))
        .order_by(Agreement.period_end, Agreement.number)
    )


# -- benefits owed ---------------------------------------------------------------------------------
OWING_STATUSES = ("active", "completed")


def _owed_parts(f: Filters) -> tuple[Any, Any, list[Col]]:
    owing = [
        Agreement.status.in_(OWING_STATUSES),
        overlaps_period(f),
        *agreement_scope(f),
    ]
    promised = (
        select(
            AgreementBenefit.agreement_id,
            AgreementBenefit.benefit_type_id,
            func.sum(AgreementBenefit.quantity).label("quantity"),
            func.max(AgreementBenefit.unit).label("unit"),
        )
        .join(Agreement, Agreement.id == AgreementBenefit.agreement_id)
        .join(Family, Family.id == Agreement.family_id)
        .where(AgreementBenefit.voided.is_(False), *owing)
        .group_by(AgreementBenefit.agreement_id, AgreementBenefit.benefit_type_id)
        .subquery("promised")
    )
    delivered = (
        select(
            Delivery.agreement_id,
            Delivery.benefit_type_id,
            func.sum(signed_quantity()).label("quantity"),
        )
        .join(Agreement, Agreement.id == Delivery.agreement_id)
        .join(Family, Family.id == Agreement.family_id)
        .where(Delivery.voided.is_(False), Delivery.delivered_on <= f.asof, *owing)
        .group_by(Delivery.agreement_id, Delivery.benefit_type_id)
        .subquery("delivered")
    )
    got = func.coalesce(delivered.c.quantity, 0)
    cols = [
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("agreement_status", _l("Status"), Agreement.status, labels="agreement_status"),
        *family_cols(),
        Col("benefit_code", _l("Benefit code"), BenefitType.code, verbatim=True),
        Col("benefit_name", _l("Benefit"), BenefitType.name_es),
        Col("unit", _l("Unit"), promised.c.unit),
        Col("promised", _l("Promised"), promised.c.quantity, "decimal"),
        Col("delivered", _l("Delivered"), got, "decimal"),
        Col("owed", _l("Owed"), promised.c.quantity - got, "decimal"),
    ]
    return promised, delivered, cols


def _owed(f: Filters) -> Select[Any]:
    promised, delivered, cols = _owed_parts(f)
    got = func.coalesce(delivered.c.quantity, 0)
    return (
        select_columns(cols)
        .select_from(promised)
        .join(Agreement, Agreement.id == promised.c.agreement_id)
        .join(Family, Family.id == Agreement.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(BenefitType, BenefitType.id == promised.c.benefit_type_id)
        .outerjoin(
            delivered,
            and_(
                delivered.c.agreement_id == promised.c.agreement_id,
                delivered.c.benefit_type_id == promised.c.benefit_type_id,
            ),
        )
        .where(promised.c.quantity - got > 0)
        .order_by(Agreement.number, BenefitType.position, BenefitType.code)
    )


# -- families suspended ----------------------------------------------------------------------------
def _suspended_cols() -> list[Col]:
    return [
        *family_cols(),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("status_changed_at", _l("Suspended on"), Agreement.status_changed_at, "datetime"),
        Col("status_reason", _l("Reason"), Agreement.status_reason),
    ]


def _suspended(f: Filters) -> Select[Any]:
    return (
        select_columns(_suspended_cols())
        .select_from(Agreement)
        .join(Family, Family.id == Agreement.family_id)
        .join(Community, Community.id == Family.community_id)
        .where(agreement_in_force(f), Agreement.status == "suspended", *family_conditions(f))
        .order_by(Family.code, Agreement.number)
    )


# -- suspected double deliveries -------------------------------------------------------------------
def _duplicate_pairs(f: Filters) -> Any:
    """(delivery, twin, reason): same family, benefit, day and quantity, neither reversed;
    or flagged by sync/recording (``suspected_duplicate_of_id``)."""
    twin = aliased(Delivery, name="twin")
    reversal = aliased(Delivery, name="reversal")

    def standing(d: Any) -> Any:
        return and_(
            d.voided.is_(False),
            d.reverses_id.is_(None),
            ~exists().where(reversal.reverses_id == d.id, reversal.voided.is_(False)),
        )

    same = [
        twin.family_id == Delivery.family_id,
        twin.benefit_type_id == Delivery.benefit_type_id,
        twin.delivered_on == Delivery.delivered_on,
        twin.quantity == Delivery.quantity,
        twin.code < Delivery.code,
    ]
    scope = delivery_conditions(f, staff=False)
    if f.staff_id is not None:
        scope.append(
            f.staff_match(Delivery.delivered_by_id, Delivery.delivered_by_name)
            | f.staff_match(twin.delivered_by_id, twin.delivered_by_name)
        )
    same_day = (
        select(
            Delivery.id.label("delivery_id"),
            twin.id.label("twin_id"),
            literal("same_day_same_quantity").label("reason"),
        )
        .select_from(Delivery)
        .join(twin, and_(*same))
        .join(Family, Family.id == Delivery.family_id)
        .where(standing(Delivery), standing(twin), *scope)
    )
    flagged = (
        select(
            Delivery.id.label("delivery_id"),
            twin.id.label("twin_id"),
            literal("flagged").label("reason"),
        )
        .select_from(Delivery)
        .join(twin, twin.id == Delivery.suspected_duplicate_of_id)
        .join(Family, Family.id == Delivery.family_id)
        .where(Delivery.voided.is_(False), *scope)
    )
    return union_all(same_day, flagged).subquery("pairs")


_Twin = aliased(Delivery, name="twin_delivery")


def _duplicates_parts(f: Filters) -> tuple[Any, list[Col]]:
    pairs = _duplicate_pairs(f)
    cols = [
        Col("delivery_id", _l("Delivery id"), Delivery.id, "uuid"),
        Col("delivery_code", _l("Delivery"), Delivery.code),
        Col("delivered_on", _l("Date"), Delivery.delivered_on, "date"),
        *family_cols(),
        Col("benefit_code", _l("Benefit code"), BenefitType.code, verbatim=True),
        Col("quantity", _l("Quantity"), Delivery.quantity, "decimal"),
        Col("unit", _l("Unit"), Delivery.unit),
        Col("delivered_by_name", _l("Delivered by"), Delivery.delivered_by_name),
        Col("twin_code", _l("Other delivery"), _Twin.code),
        Col("twin_delivered_on", _l("Other delivery's date"), _Twin.delivered_on, "date"),
        Col("twin_delivered_by_name", _l("Other delivery by"), _Twin.delivered_by_name),
        Col("reason", _l("Why it is suspected"), pairs.c.reason, labels="duplicate_reason"),
    ]
    return pairs, cols


def _duplicates(f: Filters) -> Select[Any]:
    pairs, cols = _duplicates_parts(f)
    return (
        select_columns(cols)
        .select_from(pairs)
        .join(Delivery, Delivery.id == pairs.c.delivery_id)
        .join(_Twin, _Twin.id == pairs.c.twin_id)
        .join(Family, Family.id == Delivery.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(BenefitType, BenefitType.id == Delivery.benefit_type_id)
        .order_by(Delivery.delivered_on, Delivery.code, _Twin.code)
    )


LISTS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "no_visit",
            _l("Families with no visit in the last months"),
            lambda: _no_visit_parts(placeholder_filters())[2],
            _no_visit,
        ),
        Dataset("expiring", _l("Agreements expiring"), _expiring_cols, _expiring),
        Dataset(
            "owed",
            _l("Benefits owed but not delivered"),
            lambda: _owed_parts(placeholder_filters())[2],
            _owed,
        ),
        Dataset("suspended", _l("Families suspended"), _suspended_cols, _suspended),
        Dataset(
            "duplicates",
            _l("Suspected double deliveries"),
            lambda: _duplicates_parts(placeholder_filters())[1],
            _duplicates,
        ),
    )
}


def page(stmt: Select[Any], f: Filters) -> tuple[int, list[Any]]:
    """One page of a dataset: the total (counted in SQL) and the rows of page ``f.page``."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(f.per_page).offset((f.page - 1) * f.per_page)).all()
    return int(total or 0), rows
