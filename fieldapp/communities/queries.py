"""Reading communities: the list page, with figures other domains contribute."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.extensions import db

#: Key, in ``app.extensions``, of the function counting each community's families.
FAMILY_COUNTER_KEY = "fieldapp.community_family_counter"

FamilyCounter = Callable[[], dict[uuid.UUID, int]]


def register_family_counter(app: Flask, counter: FamilyCounter) -> None:
    """Let ``app``'s community list show family counts, read by ``counter``.

    Families belong to communities, not the other way round: the families domain counts its
    own rows and registers the function here (from its blueprint's setup), so the communities
    domain never imports it.
    """
    app.extensions[FAMILY_COUNTER_KEY] = counter


def communities_with_family_counts() -> list[tuple[Community, int]]:
    """Every community not voided, by name, with its number of families (0 when none)."""
    communities = db.session.execute(
        select(Community).where(Community.voided.is_(False)).order_by(spanish(Community.name))
    ).scalars().all()
    counter: FamilyCounter | None = current_app.extensions.get(FAMILY_COUNTER_KEY)
    counts: dict[Any, int] = counter() if counter is not None else {}
    return [(c, counts.get(c.id, 0)) for c in communities]
