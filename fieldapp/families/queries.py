"""Reading families: search, lists and the family page's sections."""

from __future__ import annotations

import uuid
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from fieldapp.auth.access import check_community_scope, scoped_community_ids
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.errors import NotFound
from fieldapp.extensions import db
from fieldapp.families.duplicates import (
    Match,
    Neighbours,
    Registration,
    find_pairs,
    matches_for,
)
from fieldapp.families.models import DistinctFamilies, Family, normalize


def family_search(q: str | None = None, community_id: uuid.UUID | None = None,
                  community_ids: list[uuid.UUID] | None = None,
                  withdrawn: bool = False) -> Select[Any]:
    """A query for families matching ``q``, ordered by name.

    ``q`` matches names, code and DNI, accent- and case-insensitively; every word must match
    (``"maria huaman"`` finds *Huamán Tuanama, María*).

    :param community_ids: restrict to these communities (a field worker's own), if given.
    :param withdrawn: the families that left the program instead of those in it.
    """
    stmt = select(Family).where(*_conditions(q, community_id, community_ids, withdrawn))
    return stmt.options(joinedload(Family.community)).order_by(
        spanish(Family.head_surname), spanish(Family.head_given_names), Family.code
    )


def _conditions(q: str | None, community_id: uuid.UUID | None,
                community_ids: list[uuid.UUID] | None, withdrawn: bool = False) -> list[Any]:
    conditions: list[Any] = [Family.voided.is_(False),
                             Family.status == ("withdrawn" if withdrawn else "active")]
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
                   community_ids: list[uuid.UUID] | None = None, withdrawn: bool = False) -> int:
    """How many families :func:`family_search` finds (a plain count, no join, no sort).

    ``count(*)``, not ``count(id)``: the name index holds every column the conditions read, so
    SQLite counts in the index without reading the rows.
    """
    return db.session.scalar(
        select(func.count()).select_from(Family)
        .where(*_conditions(q, community_id, community_ids, withdrawn))
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


# -- duplicates ---------------------------------------------------------------------------------

_REGISTRATION_COLUMNS = (Family.id, Family.community_id, Family.head_given_names,
                         Family.head_surname, Family.dni, Family.phone, Family.lat, Family.lon)


def _registration(row: Any) -> Registration:
    return Registration(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def community_neighbours() -> Neighbours:
    """Which communities are neighbours (their centres, read once)."""
    return Neighbours({row.id: (row.lat, row.lon) for row in db.session.execute(
        select(Community.id, Community.lat, Community.lon))})


def distinct_pairs() -> set[frozenset]:
    """The pairs coordinators said are two families (never proposed again)."""
    return {frozenset(pair) for pair in db.session.execute(
        select(DistinctFamilies.family_a_id, DistinctFamilies.family_b_id))}


def possible_duplicates(values: dict[str, Any], exclude: uuid.UUID | None = None
                        ) -> list[tuple[Family, Match]]:
    """The live families a family with these values may double, best first (the form's
    check before saving). The candidates are those the rule could name: of a neighbouring
    community, or with its DNI, phone or plot; the rule itself is :mod:`.duplicates`'."""
    neighbours = community_neighbours()
    new = Registration(exclude, values.get("community_id"), values.get("head_given_names") or "",
                       values.get("head_surname") or "", values.get("dni"), values.get("phone"),
                       values.get("lat"), values.get("lon"))
    near = [c for c in neighbours.centres if neighbours(new.community_id, c)]
    wanted = [Family.community_id.in_(near)] if near else []
    if new.dni:
        wanted.append(Family.dni == new.dni)
    if new.phone:
        wanted.append(Family.phone == new.phone)
    if new.lat is not None and new.lon is not None:
        wanted.append(Family.lat.between(new.lat - 0.002, new.lat + 0.002)
                      & Family.lon.between(new.lon - 0.002, new.lon + 0.002))
    if not wanted:
        return []
    rows = db.session.execute(select(*_REGISTRATION_COLUMNS).where(
        Family.voided.is_(False), or_(*wanted))).all()
    matches = matches_for(new, [_registration(r) for r in rows if r[0] != exclude], neighbours)
    if exclude is not None:
        ignored = distinct_pairs()
        matches = [m for m in matches if frozenset((exclude, m.b)) not in ignored]
    families = {f.id: f for f in db.session.execute(
        select(Family).where(Family.id.in_([m.b for m in matches]))).scalars()}
    return [(families[m.b], m) for m in matches[:5]]


def duplicate_pairs(limit: int | None = None) -> list[Match]:
    """Every pair of live families that may be one, best score first, without the pairs
    coordinators said are two families (the review screen's list)."""
    rows = db.session.execute(select(*_REGISTRATION_COLUMNS).where(Family.voided.is_(False)))
    pairs = find_pairs([_registration(r) for r in rows], community_neighbours(),
                       distinct_pairs())
    return pairs[:limit] if limit is not None else pairs


def survivors_of(session: Any, family_ids: set[Any]) -> dict[Any, Any]:
    """The family each merged family among ``family_ids`` was merged into, followed to the end
    (a survivor merged in turn): ``{merged id: survivor id}``; families not merged are left
    out. Central's push rules ask it for every run of records of a family (one query when
    none is merged)."""
    found: dict[Any, Any] = {}
    wanted = {i for i in family_ids if i is not None}
    for _hop in range(10):
        if not wanted:
            break
        step = dict(session.execute(select(Family.id, Family.merged_into_id).where(
            Family.id.in_(list(wanted)), Family.merged_into_id.is_not(None))).all())
        for merged, into in found.items():
            if into in step:
                found[merged] = step[into]
        for merged, into in step.items():
            found.setdefault(merged, into)
        wanted = set(step.values())
    return found
