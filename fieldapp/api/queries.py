"""Reading API tokens."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.api.models import ApiToken
from fieldapp.extensions import db


def token_by_public_id(public_id: str) -> ApiToken | None:
    """The token whose public part is ``public_id`` (16 hex digits), if any."""
    if len(public_id) != 16:
        return None
    return db.session.execute(
        select(ApiToken).where(ApiToken.public_id == public_id)
    ).scalar_one_or_none()


def all_tokens() -> list[ApiToken]:
    """Every token, the newest first (revoked and expired ones too: when were they used)."""
    return list(db.session.execute(
        select(ApiToken).order_by(ApiToken.created_at.desc())).scalars())
