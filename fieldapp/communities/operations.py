"""Creating and changing communities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fieldapp.audit.operations import record, snapshot
from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db

FIELDS = ("code", "name", "sector", "district", "province", "lat", "lon")


def _check_code_free(code: str, community: Community | None = None) -> None:
    clash = db.session.execute(select(Community).where(Community.code == code)).scalar_one_or_none()
    if clash is not None and clash is not community:
        raise ValidationFailed(f"code {code} is taken", field="code")


def create_community(data: dict[str, Any]) -> Community:
    """Add a community.

    :raises ValidationFailed: the code is taken.
    """
    _check_code_free(data["code"])
    community = Community(**{k: data.get(k) for k in FIELDS})
    db.session.add(community)
    record("create", community)
    return community


def update_community(community: Community, data: dict[str, Any]) -> Community:
    """Change a community's fields.

    :raises ValidationFailed: the new code is taken.
    """
    _check_code_free(data["code"], community)
    before = snapshot(community)
    for key in FIELDS:
        setattr(community, key, data.get(key))
    record("update", community, before=before)
    return community
