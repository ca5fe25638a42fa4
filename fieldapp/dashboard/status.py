"""Each family's compliance status on a day, computed in SQL (one grouped query, no loops).

The definitions (also in docs/using/dashboard.en.md, "Definitions"), all taken on the snapshot
day ``asof``:

- **Agreement in force**: a non-voided agreement with status ``active`` or ``suspended`` whose
  period contains ``asof``. Statuses are the ones stored now (a past period is seen with
  today's statuses; the history of status changes is not replayed).
- **Active agreement**: an agreement in force whose status is ``active``.
- **Sanction in force**: a confirmed, non-voided sanction (any level) decided on or before
  ``asof``, whose agreement's period contains ``asof``.
- **Latest visit**: the latest non-voided compliance visit on or before ``asof`` made under an
  agreement in force (all visits of that day count).
- Status, first rule that applies:
  ``non_compliant`` if a sanction is in force (a family whose agreement was terminated for
  breaches stays non-compliant until its period ends); ``no_agreement`` if no agreement is in
  force; ``not_visited`` if no visit was made yet under the agreement in force;
  ``non_compliant`` if the latest visit has a ``breached`` finding; else ``compliant``
  (``partial`` and ``not checked`` findings do not break compliance).
- **Received benefits in the period**: at least one delivery to the family dated in the period
  stands (it is not a reversal and no reversal cancels it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Subquery, and_, case, exists, func, literal, select
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import Agreement
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.dashboard.filters import Filters
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession

STATUSES = ("compliant", "non_compliant", "not_visited", "no_agreement")
IN_FORCE_STATUSES = ("active", "suspended")


def agreement_in_force(f: Filters, agreement: Any = Agreement) -> Any:
    """The condition for an agreement to be in force on ``f.asof``."""
    return and_(
        agreement.voided.is_(False),
        agreement.status.in_(IN_FORCE_STATUSES),
        agreement.period_start <= f.asof,
        agreement.period_end >= f.asof,
    )


def net_count() -> Any:
    """Deliveries counted net of reversals: +1 a delivery, -1 a reversal."""
    return func.sum(case((Delivery.reverses_id.is_(None), 1), else_=-1))


def signed_quantity() -> Any:
    """A delivery's quantity as it counts in totals: negative for a reversal."""
    return case((Delivery.reverses_id.is_(None), Delivery.quantity), else_=-Delivery.quantity)


def _scoped(column: Any, scope: Any) -> list[Any]:
    """Restrict ``column`` (a family id) to the families selected by ``scope``, if given."""
    return [] if scope is None else [column.in_(scope)]


def _in_force(f: Filters, scope: Any = None) -> Subquery:
    return (
        select(
            Agreement.family_id.label("family_id"),
            func.max(Agreement.number).label("agreement_number"),
            func.max(Agreement.status).label("agreement_status"),
            func.max(case((Agreement.status == "active", 1), else_=0)).label("has_active"),
        )
        .where(agreement_in_force(f), *_scoped(Agreement.family_id, scope))
        .group_by(Agreement.family_id)
        .subquery("in_force")
    )


def _latest_visit(f: Filters, scope: Any = None) -> Subquery:
    visit_on = (
        select(
            ComplianceVisit.family_id.label("family_id"),
            func.max(ComplianceVisit.visited_on).label("last_on"),
        )
        .join(Agreement, Agreement.id == ComplianceVisit.agreement_id)
        .where(
            ComplianceVisit.voided.is_(False),
            ComplianceVisit.visited_on <= f.asof,
            agreement_in_force(f),
            *_scoped(ComplianceVisit.family_id, scope),
        )
        .group_by(ComplianceVisit.family_id)
        .subquery("last_visit_on")
    )
    return (
        select(
            visit_on.c.family_id,
            visit_on.c.last_on,
            func.max(case((VisitFinding.result == "breached", 1), else_=0)).label("breached"),
        )
        .select_from(visit_on)
        .join(
            ComplianceVisit,
            and_(
                ComplianceVisit.family_id == visit_on.c.family_id,
                ComplianceVisit.visited_on == visit_on.c.last_on,
                ComplianceVisit.voided.is_(False),
            ),
        )
        .outerjoin(
            VisitFinding,
            and_(VisitFinding.visit_id == ComplianceVisit.id, VisitFinding.voided.is_(False)),
        )
        .group_by(visit_on.c.family_id, visit_on.c.last_on)
        .subquery("last_visit")
    )


def sanction_in_force(f: Filters) -> Any:
    """Conditions for a sanction (joined with its agreement) to be in force on ``f.asof``."""
    return and_(
        Sanction.voided.is_(False),
        Sanction.status == "confirmed",
        func.coalesce(Sanction.decided_at, Sanction.created_at) < f.asof_end_at,
        Agreement.period_start <= f.asof,
        Agreement.period_end >= f.asof,
    )


def _sanctioned(f: Filters, scope: Any = None) -> Subquery:
    return (
        select(Sanction.family_id.label("family_id"), func.count().label("sanctions"))
        .join(Agreement, Agreement.id == Sanction.agreement_id)
        .where(sanction_in_force(f), *_scoped(Sanction.family_id, scope))
        .group_by(Sanction.family_id)
        .subquery("sanctioned")
    )


def standing_delivery(f: Filters, delivery: Any = Delivery) -> Any:
    """A delivery dated in the period that stands: not a reversal, and not reversed."""
    reversal = aliased(Delivery, name="reversal")
    return and_(
        delivery.voided.is_(False),
        delivery.reverses_id.is_(None),
        delivery.delivered_on >= f.date_from,
        delivery.delivered_on <= f.date_to,
        ~exists().where(reversal.reverses_id == delivery.id, reversal.voided.is_(False)),
    )


def family_status(f: Filters, family_conditions: list[Any], with_period: bool = True) -> Subquery:
    """One row per family in scope: its status and the facts behind it.

    Columns: ``family_id``, ``community_id``, ``status``, ``in_force`` (0/1), ``has_active``,
    ``agreement_number``, ``agreement_status``, ``last_visit_on``, ``sanctions_in_force``, and
    with ``with_period``, what the family did in the period (0/1): ``received``, ``attended``,
    ``visited``.

    :param family_conditions: conditions on :class:`Family` that select the families in scope.
    """
    scope = select(Family.id).where(*family_conditions)
    in_force, last, sanctioned = _in_force(f, scope), _latest_visit(f, scope), _sanctioned(f, scope)
    status = case(
        (sanctioned.c.family_id.is_not(None), literal("non_compliant")),
        (in_force.c.family_id.is_(None), literal("no_agreement")),
        (last.c.family_id.is_(None), literal("not_visited")),
        (last.c.breached == 1, literal("non_compliant")),
        else_=literal("compliant"),
    )
    columns = [
        Family.id.label("family_id"),
        Family.community_id.label("community_id"),
        status.label("status"),
        case((in_force.c.family_id.is_not(None), 1), else_=0).label("in_force"),
        func.coalesce(in_force.c.has_active, 0).label("has_active"),
        in_force.c.agreement_number,
        in_force.c.agreement_status,
        last.c.last_on.label("last_visit_on"),
        func.coalesce(sanctioned.c.sanctions, 0).label("sanctions_in_force"),
    ]
    stmt = (
        select(*columns)
        .select_from(Family)
        .outerjoin(in_force, in_force.c.family_id == Family.id)
        .outerjoin(last, last.c.family_id == Family.id)
        .outerjoin(sanctioned, sanctioned.c.family_id == Family.id)
        .where(*family_conditions)
    )
    if with_period:
        stmt = stmt.add_columns(*period_flags(f, Family.id))
    return stmt.subquery("family_status")


def period_flags(f: Filters, family_id: Any) -> list[Any]:
    """What the family (``family_id``, a correlated column) did in the period, as 0/1 columns
    ``received``, ``attended`` and ``visited``."""
    return [
        case((received(f, family_id), 1), else_=0).label("received"),
        case((attended(f, family_id), 1), else_=0).label("attended"),
        case((visited(f, family_id), 1), else_=0).label("visited"),
    ]


def received(f: Filters, family_id: Any) -> Any:
    """The family has a delivery dated in the period that stands."""
    delivery = aliased(Delivery, name="received_delivery")
    return exists().where(delivery.family_id == family_id, standing_delivery(f, delivery))


def attended(f: Filters, family_id: Any) -> Any:
    """The family attended a (non-voided) training session held in the period."""
    # The sessions of the period are one uncorrelated list, so each family is one index seek.
    sessions = select(TrainingSession.id).where(
        TrainingSession.voided.is_(False),
        TrainingSession.held_on >= f.date_from,
        TrainingSession.held_on <= f.date_to,
    )
    return exists().where(
        Attendance.family_id == family_id,
        Attendance.voided.is_(False),
        Attendance.session_id.in_(sessions),
    )


def visited(f: Filters, family_id: Any) -> Any:
    """The family had a (non-voided) compliance visit in the period."""
    visit = aliased(ComplianceVisit, name="period_visit")
    return exists().where(
        visit.family_id == family_id,
        visit.voided.is_(False),
        visit.visited_on >= f.date_from,
        visit.visited_on <= f.date_to,
    )
