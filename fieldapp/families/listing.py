"""The family and community a list of a family's records is narrowed to (``?family=``,
``?community=``): the visits and deliveries lists read them the same way."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from flask import request

from fieldapp.auth.access import check_community_scope
from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.queries import family_or_404
from fieldapp.submissions import parse_uuid


class ListFilter(NamedTuple):
    """The chosen family and community (ids as given; records when given)."""

    family_id: uuid.UUID | None
    family: Family | None
    community_id: uuid.UUID | None
    community: Community | None


def list_filter_args() -> ListFilter:
    """The request's ``family`` and ``community`` arguments, checked against the user's scope.

    A malformed id is no filter; an unknown or voided family is a 404, and a family or a
    community outside the user's communities a 403.
    """
    family_id = parse_uuid(request.args.get("family"))
    community_id = parse_uuid(request.args.get("community"))
    family = family_or_404(family_id) if family_id else None
    if community_id:
        check_community_scope(community_id)
    community = db.session.get(Community, community_id) if community_id else None
    return ListFilter(family_id, family, community_id, community)
