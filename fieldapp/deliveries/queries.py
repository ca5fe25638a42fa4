"""Reading deliveries: lists per family and per community, suspected doubles, family summary."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, inspect, select
from sqlalchemy.orm import joinedload

from fieldapp.agreements.models import Agreement, BenefitType
from fieldapp.agreements.operations import current_agreement
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.queries import family_ids_in


def delivery_list(family_id: uuid.UUID | None = None, community_id: uuid.UUID | None = None,
                  community_ids: list[uuid.UUID] | None = None,
                  suspected: bool = False) -> Select[Any]:
    """Deliveries (reversals included), newest first."""
    stmt = (
        select(Delivery)
        .options(joinedload(Delivery.family), joinedload(Delivery.benefit_type))
        .where(Delivery.voided.is_(False))
        .order_by(Delivery.delivered_on.desc(), Delivery.code.desc())
    )
    if family_id:
        stmt = stmt.where(Delivery.family_id == family_id)
    families = family_ids_in(community_id, community_ids)
    if families is not None:
        stmt = stmt.where(Delivery.family_id.in_(families))
    if suspected:
        stmt = stmt.where(Delivery.suspected_duplicate_of_id.is_not(None))
    return stmt


def reversed_ids(delivery_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these deliveries were reversed."""
    if not delivery_ids:
        return set()
    return set(db.session.execute(
        select(Delivery.reverses_id).where(Delivery.reverses_id.in_(delivery_ids))).scalars())


def family_deliveries(family: Family, limit: int = 5,
                      agreements: list[Any] | None = None) -> dict[str, Any]:
    """The family page's delivery section: promised vs delivered for the current agreement and
    the latest deliveries.

    :param agreements: the family's agreement versions, when the page has read them already.
    """
    agreement = current_agreement(family.id, agreements)
    # The section shows the deliveries' own columns: no joined family (it is the page's) or
    # benefit type (the item names it).
    recent = list(db.session.execute(
        select(Delivery).where(Delivery.family_id == family.id, Delivery.voided.is_(False))
        .order_by(Delivery.delivered_on.desc(), Delivery.code.desc()).limit(limit)).scalars())
    return {
        "agreement": agreement,
        "rows": promised_vs_delivered(agreement) if agreement and agreement.status != "draft"
        else [],
        "recent": recent,
        "reversed": reversed_ids([d.id for d in recent]),
    }


def delivered_by_benefit(agreement_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Net quantity delivered (reversals subtracted) per benefit type for these agreements."""
    if not agreement_ids:
        return {}
    net = func.sum(case((Delivery.reverses_id.is_(None), Delivery.quantity),
                        else_=-Delivery.quantity))
    rows = db.session.execute(
        select(Delivery.benefit_type_id, net)
        .where(Delivery.agreement_id.in_(agreement_ids), Delivery.voided.is_(False))
        .group_by(Delivery.benefit_type_id)
    ).all()
    return {type_id: Decimal(total or 0) for type_id, total in rows}


def promised_vs_delivered(agreement: Agreement) -> list[dict[str, Any]]:
    """For each promised benefit: promised, delivered (net) and still owed.

    Here, not in ``agreements``: deliveries sit above agreements (they read agreements, never the
    reverse), so the agreement page asks deliveries for what was delivered."""
    delivered = delivered_by_benefit([agreement.id])
    promised = [b for b in agreement.benefits if not b.voided]
    # The types in one query (not a lazy load per promised benefit), unless already loaded.
    types = {b.benefit_type_id: b.benefit_type for b in promised
             if "benefit_type" not in inspect(b).unloaded}
    wanted = ({b.benefit_type_id for b in promised} | set(delivered)) - set(types)
    if wanted:
        types.update((t.id, t) for t in db.session.execute(
            select(BenefitType).where(BenefitType.id.in_(list(wanted)))).scalars())
    rows = []
    for benefit in promised:
        got = delivered.pop(benefit.benefit_type_id, Decimal(0))
        rows.append({
            "benefit_type": types.get(benefit.benefit_type_id),
            "promised": benefit.quantity,
            "unit": benefit.unit,
            "schedule": benefit.schedule,
            "delivered": got,
            "owed": max(benefit.quantity - got, Decimal(0)),
        })
    if delivered:  # delivered without a promise (confirmed by the person who recorded it)
        for type_id, got in delivered.items():
            btype = types.get(type_id)
            rows.append({"benefit_type": btype, "promised": Decimal(0),
                         "unit": btype.default_unit if btype else "", "schedule": "",
                         "delivered": got, "owed": Decimal(0)})
    return rows
