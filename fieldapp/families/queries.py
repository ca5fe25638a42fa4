"""Reading families: search, lists and the family page's sections."""

from __future__ import annotations

import uuid
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from fieldapp.auth.access import check_community_scope, scoped_community_ids
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.errors import NotFound
from fieldapp.extensions import db
from fieldapp.families.models import Family, normalize


def family_search(q: str | None = None, community_id: uuid.UUID | None = None,
                  community_ids: list[uuid.UUID] | None = None) -> Select[Any]:
    """A query for families matching ``q``, ordered by name.

    ``q`` matches names, code and DNI, accent- and case-insensitively; every word must match
    (``"maria huaman"`` finds *Huamán Tuanama, María*).

    :param community_ids: restrict to these communities (a field worker's own), if given.
    """
    stmt = select(Family).where(*_conditions(q, community_id, community_ids))
    return stmt.options(joinedload(Family.community)).order_by(
        spanish(Family.head_surname), spanish(Family.head_given_names), Family.code
    )


def _conditions(q: str | None, community_id: uuid.UUID | None,
                community_ids: list[uuid.UUID] | None) -> list[Any]:
    conditions: list[Any] = [Family.voided.is_(False)]
    words = normalize(q or "")[:100].split()[:6]
    if len(words) == 1 and len(words[0]) == 8 and words[0].isdigit():
        words = []  # a whole DNI: the index finds it
        conditions.append(Family.dni == q.strip())
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Family.search_text.like(f"%{escaped}%", escape="\\"))
    if community_id:
        conditions.append(Family.community_id == community_id)
    if community_ids is not None:
        conditions.append(Family.community_id.in_(community_ids))
    return conditions


def count_families(q: str | None = None, community_id: uuid.UUID | None = None,
                   community_ids: list[uuid.UUID] | None = None) -> int:
    """How many families :func:`family_search` finds (a plain count, no join, no sort).

    ``count(*)``, not ``count(id)``: the name index holds every column the conditions read, so
    SQLite counts in the index without reading the rows.
    """
    return db.session.scalar(
        select(func.count()).select_from(Family).where(*_conditions(q, community_id, community_ids))
    ) or 0


def paginate_families(stmt: Select[Any], page: int, per_page: int, total: int) -> Pagination:
    """One page of a family query.

    ``total`` comes from :func:`count_families` (no sort, no join).
    """
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False,
                             max_per_page=100, count=False)
    pagination.total = total
    return pagination


def family_ids_in(community_id: uuid.UUID | None,
                  community_ids: list[uuid.UUID] | None) -> Select[Any] | None:
    """A SELECT of the ids of the families of ``community_id`` (if given) and within
    ``community_ids`` (a user's scope, if limited); ``None`` when neither narrows.

    Lists of a family's records (visits, deliveries) filter through it: a subquery, not a join,
    so the list keeps its own order and index.
    """
    if not community_id and community_ids is None:
        return None
    families = select(Family.id)
    if community_id:
        families = families.where(Family.community_id == community_id)
    if community_ids is not None:
        families = families.where(Family.community_id.in_(community_ids))
    return families


def family_counts_by_community() -> dict[uuid.UUID, int]:
    """The number of families (not voided) of each community that has any.

    Registered for the communities list (:func:`fieldapp.communities.queries.
    register_family_counter`), which may not import the families domain.
    """
    rows = db.session.execute(
        select(Family.community_id, func.count(Family.id))
        .where(Family.voided.is_(False))
        .group_by(Family.community_id)
    ).all()
    return {community_id: count for community_id, count in rows}


def family_or_404(family_id: uuid.UUID | None) -> Family:
    """The family a page or form names, if the current user may see it.

    :raises NotFound: no id, an unknown family or a voided one (404, ``not_found``).
    :raises Forbidden: a family of a community outside the user's scope (403).
    """
    family = db.session.get(Family, family_id) if family_id else None
    if family is None or family.voided:
        raise NotFound()
    check_community_scope(family.community_id)
    return family


def communities_in_scope() -> list[Any]:
    """:func:`active_communities` the current user works in (all of them for a coordinator):
    the community choices of lists and forms."""
    scope = scoped_community_ids()
    return [c for c in active_communities() if scope is None or c.id in scope]


def active_communities() -> list[Any]:
    """``(id, code, name)`` rows of the communities that are not voided, by name.

    Rows, not ORM objects: every list and form page shows them, and at ten times the
    program there are 250.
    """
    return list(
        db.session.execute(
            select(Community.id, Community.code, Community.name)
            .where(Community.voided.is_(False))
            .order_by(spanish(Community.name))
        )
    )
