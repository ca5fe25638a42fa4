"""Creating, revoking and checking API tokens.

A token reads ``fapi_<public id>_<secret>``: the public id (16 hex digits) finds its row, the
secret (43 URL-safe characters, 256 bits from :mod:`secrets`) proves it. Only the secret's
SHA-256 digest is stored (a high-entropy secret needs no slow hash: nothing to guess), and it
is compared in constant time. The whole token is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from fieldapp.api.catalogue import API_DATASETS
from fieldapp.api.models import ApiToken
from fieldapp.api.queries import token_by_public_id
from fieldapp.audit.operations import record
from fieldapp.errors import ApiRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.models import utcnow

PREFIX = "fapi_"
MAX_DAYS = 366  # a token lives a year at most: a forgotten one ends by itself
#: A token's use is written down at most this often (a full fetch is hundreds of requests).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is the only time the whole token exists outside."""

    token: ApiToken
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(name: str, datasets: list[str], community_ids: list[uuid.UUID],
                 personal_data: bool, days: int, created_by: Any) -> NewToken:
    """Make a token for ``datasets`` (and ``community_ids``; none: every community).

    :param days: how long it lives, 1 to :data:`MAX_DAYS`.
    :param created_by: the admin (a user with ``id`` and ``full_name``).
    :raises ValidationFailed: a name missing, no or an unknown dataset, a lifetime out of range.
    """
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_l("This field is required."), field="name")
    unknown = [d for d in datasets if d not in API_DATASETS]
    if not datasets or unknown:
        raise ValidationFailed(_l("Choose at least one dataset from the list."), field="datasets")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(_l("A token lives from 1 to %(max)s days.", max=MAX_DAYS),
                               field="days")
    public_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        public_id=public_id,
        secret_sha256=_digest(secret),
        name=name[:120],
        datasets=sorted(set(datasets)),
        community_ids=sorted({str(c) for c in community_ids}),
        personal_data=bool(personal_data),
        expires_at=utcnow() + timedelta(days=days),
        created_by_id=getattr(created_by, "id", None),
        created_by_name=getattr(created_by, "full_name", None) or str(created_by),
    )
    db.session.add(token)
    db.session.flush()
    record("create", token, after={"name": token.name, "datasets": token.datasets,
                                   "personal_data": token.personal_data})
    return NewToken(token, f"{PREFIX}{public_id}_{secret}")


def revoke_token(token: ApiToken, by: Any) -> None:
    """End ``token`` now (a revoked token is kept, to show when it was last used)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.revoked_by_name = getattr(by, "full_name", None) or str(by)
        record("revoke", token, after={"name": token.name})


def authenticate(header: str | None, address: str | None, now: datetime | None = None
                 ) -> ApiToken:
    """The token of an ``Authorization: Bearer ...`` header, its use written down.

    :raises ApiRefused: ``token_missing``, ``token_invalid``, ``token_revoked``,
        ``token_expired`` (401).
    """
    now = now or utcnow()
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiRefused("token_missing", 401, _l(
            "Send the API token in the header Authorization: Bearer <token>."))
    value = value.strip()
    public_id, _, secret = value[len(PREFIX):].partition("_")
    token = token_by_public_id(public_id) if value.startswith(PREFIX) and secret else None
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        raise ApiRefused("token_invalid", 401, _l("This API token is not valid."))
    if token.revoked_at is not None:
        raise ApiRefused("token_revoked", 401, _l("This API token was revoked."))
    if token.expires_at <= now:
        raise ApiRefused("token_expired", 401, _l(
            "This API token expired. Ask an administrator for a new one."))
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        token.last_used_from = (address or "")[:64] or None
    return token
