"""Reading agreements: a family's timeline, an agreement's versions and history, the catalogues."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
    Signature,
)
from fieldapp.audit.models import AuditEntry
from fieldapp.extensions import db
from fieldapp.families.sections import FamilyPage


def load_agreement(agreement_id: uuid.UUID) -> Agreement | None:
    """An agreement with its family, terms and signatures loaded in few queries."""
    return db.session.execute(
        select(Agreement)
        .where(Agreement.id == agreement_id)
        .options(
            selectinload(Agreement.family),
            selectinload(Agreement.commitments).selectinload(AgreementCommitment.commitment_type),
            selectinload(Agreement.benefits).selectinload(AgreementBenefit.benefit_type),
            # Images are served by their own route; the page needs only who signed and when.
            selectinload(Agreement.signatures).defer(Signature.image_png),
        )
    ).scalar_one_or_none()


def family_agreements(family_id: uuid.UUID) -> list[Agreement]:
    """Every (not voided) agreement version of a family, newest period and version first.

    Callers filter by status in Python: a family has a handful of versions, and a condition on
    ``status`` tempts SQLite into the status index (most rows are "active") instead of the
    family's.
    """
    rows = db.session.execute(
        select(Agreement).where(Agreement.family_id == family_id, Agreement.voided.is_(False))
    ).scalars().all()
    return sorted(rows, key=lambda a: (a.period_start, a.version_no, a.created_at), reverse=True)


def version_chain(agreement: Agreement) -> list[Agreement]:
    """The lineage of an agreement: what it replaces, and what replaced it, oldest first."""
    family_rows = {a.id: a for a in family_agreements(agreement.family_id)}
    family_rows.setdefault(agreement.id, agreement)
    chain = [agreement]
    seen = {agreement.id}
    node = agreement
    while node.supersedes_id in family_rows and node.supersedes_id not in seen:
        node = family_rows[node.supersedes_id]
        chain.insert(0, node)
        seen.add(node.id)
    frontier = [agreement.id]
    while frontier:
        parent = frontier.pop()
        for row in family_rows.values():
            if row.supersedes_id == parent and row.id not in seen:
                chain.append(row)
                seen.add(row.id)
                frontier.append(row.id)
    chain.sort(key=lambda a: (a.period_start, a.version_no, a.created_at))
    return chain


@dataclass
class TimelineEvent:
    """One dated step of a family's agreements, for the family page."""

    at: datetime
    kind: str  # created, signed, status
    agreement: Agreement
    status: str | None = None
    reason: str | None = None
    who: str | None = None


def family_page_agreements(page: FamilyPage) -> list[Agreement]:
    """The family's :func:`family_agreements`, read once per family page: the agreement and the
    delivery sections both show them."""
    return page.once("agreements", lambda: family_agreements(page.family.id))


def family_timeline(family_id: uuid.UUID,
                    agreements: list[Agreement] | None = None) -> list[TimelineEvent]:
    """The family's agreement history as dated events, newest first.

    Drafting and signing come from the agreements; status changes from the audit log (records
    imported without an audit trail show their current status at ``status_changed_at``).

    :param agreements: the family's :func:`family_agreements`, when the caller has them.
    """
    if agreements is None:
        agreements = family_agreements(family_id)
    by_id = {a.id: a for a in agreements}
    events: list[TimelineEvent] = []
    for a in agreements:
        events.append(TimelineEvent(a.created_at, "created", a, who=a.created_by_name))
        if a.signed_at:
            events.append(TimelineEvent(a.signed_at, "signed", a))
    audited: set[tuple[uuid.UUID, str]] = set()
    if by_id:
        rows = db.session.execute(
            select(AuditEntry)
            .where(
                AuditEntry.family_id == family_id,
                AuditEntry.entity_type == "agreements",
                AuditEntry.action.like("status:%"),
            )
        ).scalars()
        for entry in rows:
            status = entry.action.split(":", 1)[1]
            agreement = by_id.get(entry.entity_id)
            if agreement is None or status == "signed":
                continue
            audited.add((agreement.id, status))
            events.append(TimelineEvent(entry.at, "status", agreement, status=status,
                                        reason=(entry.after or {}).get("status_reason"),
                                        who=entry.username))
    for a in agreements:
        if a.status not in ("draft", "signed") and (a.id, a.status) not in audited:
            events.append(TimelineEvent(a.status_changed_at or a.updated_at, "status", a,
                                        status=a.status, reason=a.status_reason))
    events.sort(key=lambda e: e.at, reverse=True)
    return events


def agreement_audit(agreement: Agreement, limit: int = 200) -> list[AuditEntry]:
    """Audit entries about the agreement itself, newest first."""
    return list(
        db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "agreements", AuditEntry.entity_id == agreement.id)
            .order_by(AuditEntry.at.desc())
            .limit(limit)
        ).scalars()
    )


def catalogue_commitments(active_only: bool = False) -> list[CommitmentType]:
    """The commitment catalogue in its order."""
    stmt = select(CommitmentType).where(CommitmentType.voided.is_(False))
    if active_only:
        stmt = stmt.where(CommitmentType.active.is_(True))
    return list(db.session.execute(
        stmt.order_by(CommitmentType.position, CommitmentType.code)).scalars())


def catalogue_benefits(active_only: bool = False) -> list[BenefitType]:
    """The benefit catalogue in its order."""
    stmt = select(BenefitType).where(BenefitType.voided.is_(False))
    if active_only:
        stmt = stmt.where(BenefitType.active.is_(True))
    return list(db.session.execute(stmt.order_by(BenefitType.position, BenefitType.code)).scalars())


def agreement_for_delivery(family_id: uuid.UUID, on: date) -> Agreement | None:
    """The family's active agreement in force on ``on`` (the latest started), if any."""
    return next((a for a in family_agreements(family_id)
                 if a.status == "active" and a.period_start <= on), None)


def current_agreement(family_id: uuid.UUID,
                      agreements: list[Agreement] | None = None) -> Agreement | None:
    """The family's agreement that matters now: the newest in force, else the newest at all.

    :param agreements: the family's :func:`family_agreements`, when the caller has them.
    """
    rows = family_agreements(family_id) if agreements is None else agreements
    for wanted in (("active",), ("suspended",), ("signed",), ("draft",)):
        for agreement in rows:
            if agreement.status in wanted:
                return agreement
    return rows[0] if rows else None


def overlapping_agreement(family_id: uuid.UUID, start: date, end: date,
                          statuses: tuple[str, ...],
                          ignore: tuple[uuid.UUID | None, ...] = ()) -> Agreement | None:
    """The family's agreement in one of ``statuses`` whose period overlaps ``start``–``end``."""
    for agreement in family_agreements(family_id):
        if (agreement.status in statuses and agreement.id not in ignore
                and agreement.period_start <= end and agreement.period_end >= start):
            return agreement
    return None
