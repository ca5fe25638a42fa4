"""Reading families: search, lists and the family page's sections."""

from __future__ import annotations

import uuid
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family


def family_search(q: str | None = None, community_id: uuid.UUID | None = None,
                  community_ids: list[uuid.UUID] | None = None) -> Select[Any]:
    """A query for families matching ``q`` (name, code or DNI), ordered by name.

    :param community_ids: restrict to these communities (a field worker's own), if given.
    """
    stmt = (
        select(Family)
        .options(joinedload(Family.community))
        .where(Family.voided.is_(False))
        .order_by(Family.head_surname, Family.head_given_names, Family.code)
    )
    if q:
        q = " ".join(q.split())[:100]
        if q.isdigit():
            stmt = stmt.where(or_(Family.dni.startswith(q), Family.code.contains(q)))
        else:
            like = f"%{q}%"
            terms = [
                Family.code.ilike(like),
                Family.head_surname.ilike(like),
                Family.head_given_names.ilike(like),
                (Family.head_given_names + " " + Family.head_surname).ilike(like),
            ]
            stmt = stmt.where(or_(*terms))
    if community_id:
        stmt = stmt.where(Family.community_id == community_id)
    if community_ids is not None:
        stmt = stmt.where(Family.community_id.in_(community_ids))
    return stmt


def paginate_families(stmt: Select[Any], page: int, per_page: int) -> Pagination:
    """One page of a family query (the count runs in SQL)."""
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, max_per_page=100)


def active_communities() -> list[Community]:
    """Communities that are not voided, by name."""
    return list(
        db.session.execute(
            select(Community).where(Community.voided.is_(False)).order_by(Community.name)
        ).scalars()
    )
