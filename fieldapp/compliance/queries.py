"""Reading visits and sanctions: per family, per agreement, the coordinators' queue."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.queries import family_ids_in


def agreement_sanctions(agreement_id: uuid.UUID) -> list[Sanction]:
    """The sanctions proposed for an agreement, newest first."""
    return list(
        db.session.execute(
            select(Sanction)
            .where(Sanction.agreement_id == agreement_id, Sanction.voided.is_(False))
            .order_by(Sanction.created_at.desc())
        ).scalars()
    )


def finding_counts(visit_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """How many commitments were met, partly met, breached or not checked, per visit."""
    counts: dict[uuid.UUID, dict[str, int]] = {}
    if not visit_ids:
        return counts
    rows = db.session.execute(
        select(VisitFinding.visit_id, VisitFinding.result, func.count(VisitFinding.id))
        .where(VisitFinding.visit_id.in_(visit_ids), VisitFinding.voided.is_(False))
        .group_by(VisitFinding.visit_id, VisitFinding.result)
    ).all()
    for visit_id, result, n in rows:
        counts.setdefault(visit_id, {})[result] = n
    return counts


def visit_list(family_id: uuid.UUID | None = None, community_id: uuid.UUID | None = None,
               community_ids: list[uuid.UUID] | None = None) -> Select[Any]:
    """Visits, newest first."""
    stmt = (
        select(ComplianceVisit)
        .options(joinedload(ComplianceVisit.family), joinedload(ComplianceVisit.agreement))
        .where(ComplianceVisit.voided.is_(False))
        .order_by(ComplianceVisit.visited_on.desc(), ComplianceVisit.code.desc())
    )
    if family_id:
        stmt = stmt.where(ComplianceVisit.family_id == family_id)
    families = family_ids_in(community_id, community_ids)
    if families is not None:
        stmt = stmt.where(ComplianceVisit.family_id.in_(families))
    return stmt


def load_visit(visit_id: uuid.UUID) -> ComplianceVisit | None:
    """A visit with its findings and their commitments."""
    return db.session.execute(
        select(ComplianceVisit).where(ComplianceVisit.id == visit_id)
        .options(selectinload(ComplianceVisit.findings).joinedload(VisitFinding.commitment),
                 joinedload(ComplianceVisit.family), joinedload(ComplianceVisit.agreement))
    ).scalar_one_or_none()


def sanction_queue(status: str | None = "proposed") -> Select[Any]:
    """Sanctions to decide (or decided), oldest proposal first."""
    stmt = (
        select(Sanction)
        .options(joinedload(Sanction.family), joinedload(Sanction.agreement))
        .where(Sanction.voided.is_(False))
    )
    if status:
        stmt = stmt.where(Sanction.status == status)
    order = Sanction.created_at if status == "proposed" else Sanction.created_at.desc()
    return stmt.order_by(order)


def family_compliance(family: Family, limit: int = 5) -> dict[str, Any]:
    """The family page's visit section: latest visits with their results, and sanctions."""
    # The section shows the visits' own columns: no joined family or agreement.
    visits = list(db.session.execute(
        select(ComplianceVisit)
        .where(ComplianceVisit.family_id == family.id, ComplianceVisit.voided.is_(False))
        .order_by(ComplianceVisit.visited_on.desc(), ComplianceVisit.code.desc())
        .limit(limit)).scalars())
    sanctions = list(db.session.execute(
        select(Sanction).where(Sanction.family_id == family.id, Sanction.voided.is_(False))
        .order_by(Sanction.created_at.desc())
    ).scalars())
    total = db.session.scalar(select(func.count(ComplianceVisit.id)).where(
        ComplianceVisit.family_id == family.id, ComplianceVisit.voided.is_(False))) or 0
    return {"visits": visits, "counts": finding_counts([v.id for v in visits]),
            "sanctions": sanctions, "total": total}
