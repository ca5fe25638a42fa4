"""Reading deliveries: lists per family and per community, suspected doubles, family summary."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from fieldapp.agreements.operations import current_agreement
from fieldapp.agreements.queries import promised_vs_delivered
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
