"""The dashboard's filter conditions: which records a selection covers.

One list of WHERE conditions per kind of record (families, agreements, promised benefits,
deliveries, training sessions, visits), built from the :class:`.Filters` of the period, the
community and the staff member. The figures (:mod:`.summaries`, and the tests' direct reference),
the summary tables (:mod:`.rollups`), the map, the lists and the exported datasets narrow their
records through them, so every page of the dashboard counts the same records.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import Agreement
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.dashboard.filters import Filters
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.trainings.models import TrainingSession

#: Agreements that promised something: every status once signed (not drafts, not replaced ones).
PROMISING_STATUSES = ("signed", "active", "suspended", "completed", "terminated")
RENEWABLE_STATUSES = ("signed", "active")


# -- scope -------------------------------------------------------------------------------------
def drafted_by_staff(f: Filters) -> Any:
    """Families whose agreement the chosen staff member drafted (their case load)."""
    return select(Agreement.family_id).where(
        Agreement.voided.is_(False),
        f.staff_match(Agreement.created_by_id, Agreement.created_by_name),
    )


def family_conditions(f: Filters) -> list[Any]:
    """Families in scope: registered (active, not voided), of the community, of the staff member."""
    conditions: list[Any] = [Family.voided.is_(False), Family.status == "active"]
    if f.community_id is not None:
        conditions.append(Family.community_id == f.community_id)
    if f.staff_id is not None:
        conditions.append(Family.id.in_(drafted_by_staff(f)))
    return conditions


def in_community(f: Filters, column: Any) -> list[Any]:
    """The community condition on ``column`` (a community id), if a community is chosen."""
    return [column == f.community_id] if f.community_id is not None else []


def overlaps_period(f: Filters, agreement: Any = Agreement) -> Any:
    """Agreements whose period overlaps the selected period."""
    return and_(agreement.period_start <= f.date_to, agreement.period_end >= f.date_from)


# -- agreements ------------------------------------------------------------------------------------
def agreement_scope(f: Filters) -> list[Any]:
    """Agreements in scope: not voided, of the community's families, drafted by the staff member."""
    conditions = [Agreement.voided.is_(False), *in_community(f, Family.community_id)]
    if f.staff_id is not None:
        conditions.append(f.staff_match(Agreement.created_by_id, Agreement.created_by_name))
    return conditions


def has_successor(agreement: Any) -> Any:
    """Whether a non-voided agreement (renewal or amendment) replaces ``agreement``."""
    successor = aliased(Agreement)
    return exists().where(successor.supersedes_id == agreement.id, successor.voided.is_(False))


def expiring_conditions(f: Filters, agreement: Any = Agreement) -> list[Any]:
    """Signed or active agreements ending within ``f.days`` of the snapshot day, not yet renewed."""
    return [
        agreement.voided.is_(False),
        agreement.status.in_(RENEWABLE_STATUSES),
        agreement.period_end >= f.asof,
        agreement.period_end <= f.asof + timedelta(days=f.days),
        ~has_successor(agreement),
    ]


# -- benefits --------------------------------------------------------------------------------------
def promised_conditions(f: Filters) -> list[Any]:
    """Agreements whose promises count for the period."""
    return [Agreement.status.in_(PROMISING_STATUSES), overlaps_period(f), *agreement_scope(f)]


def delivery_conditions(f: Filters, staff: bool = True, scan: bool = False) -> list[Any]:
    """Deliveries (and reversals) dated in the period, of the community, by the staff member.

    :param scan: compare the date through an expression, so the database reads the table in
        order rather than seeking each row through the date index (an export of most of it).
    """
    day = func.coalesce(Delivery.delivered_on, Delivery.delivered_on) if scan else \
        Delivery.delivered_on
    conditions = [
        Delivery.voided.is_(False),
        day >= f.date_from,
        day <= f.date_to,
        *in_community(f, Family.community_id),
    ]
    if staff and f.staff_id is not None:
        conditions.append(f.staff_match(Delivery.delivered_by_id, Delivery.delivered_by_name))
    return conditions


# -- trainings and visits --------------------------------------------------------------------------
def session_conditions(f: Filters) -> list[Any]:
    """Training sessions held in the period, in the community, given by the staff member."""
    conditions = [
        TrainingSession.voided.is_(False),
        TrainingSession.held_on >= f.date_from,
        TrainingSession.held_on <= f.date_to,
        *in_community(f, TrainingSession.community_id),
    ]
    if f.staff_id is not None:
        conditions.append(f.staff_match(TrainingSession.trainer_id, TrainingSession.trainer_name))
    return conditions


def visit_conditions(f: Filters) -> list[Any]:
    """Visits made in the period, to families of the community, by the staff member."""
    conditions = [
        ComplianceVisit.voided.is_(False),
        ComplianceVisit.visited_on >= f.date_from,
        ComplianceVisit.visited_on <= f.date_to,
        *in_community(f, Family.community_id),
    ]
    if f.staff_id is not None:
        conditions.append(f.staff_match(ComplianceVisit.monitor_id, ComplianceVisit.monitor_name))
    return conditions
