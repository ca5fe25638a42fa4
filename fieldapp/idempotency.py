"""Idempotency keys: a create submitted twice (double tap, offline replay) makes one record."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.errors import IdempotencyMismatch
from fieldapp.extensions import db
from fieldapp.models import Base, utcnow


class IdempotencyKey(Base):
    """A create request already handled on this node: its key, payload digest and result."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def payload_digest(payload: dict[str, Any]) -> str:
    """SHA-256 of a payload's canonical JSON (keys sorted; the CSRF token left out)."""
    clean = {k: v for k, v in payload.items() if k not in {"csrf_token", "idempotency_key"}}
    blob = json.dumps(clean, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def seen(key: str | None, scope: str, payload: dict[str, Any]) -> uuid.UUID | None:
    """The entity created earlier with ``key``, or ``None`` when the key is new.

    :raises IdempotencyMismatch: the key was used before with a different payload.
    """
    if not key:
        return None
    row = db.session.get(IdempotencyKey, key)
    if row is None:
        return None
    if row.scope != scope or row.payload_sha256 != payload_digest(payload):
        raise IdempotencyMismatch()
    return row.entity_id


def remember(key: str | None, scope: str, payload: dict[str, Any], entity_id: uuid.UUID,
             user_id: uuid.UUID | None = None) -> None:
    """Record that ``key`` created ``entity_id`` (in the same transaction as the record)."""
    if not key:
        return
    db.session.add(
        IdempotencyKey(
            key=key,
            scope=scope,
            payload_sha256=payload_digest(payload),
            entity_id=entity_id,
            user_id=user_id,
        )
    )


def run_once(
    key: str | None,
    scope: str,
    payload: dict[str, Any],
    create: Callable[[], Any],
    user_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, bool]:
    """Call ``create`` unless ``key`` already made a record; commit either way.

    This is the one place create views commit through, so a double tap, a retried request or an
    offline replay makes exactly one record.

    :returns: the record's id and whether it was created now.
    :raises IdempotencyMismatch: the key was used before with a different payload.
    """
    existing = seen(key, scope, payload)
    if existing is not None:
        return existing, False
    obj = create()
    db.session.flush()
    entity_id = obj.id  # read before the commit expires ``obj`` (reading it after reloads it)
    remember(key, scope, payload, entity_id, user_id)
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its record.
        db.session.rollback()
        existing = seen(key, scope, payload)
        if existing is None:
            raise
        return existing, False
    return entity_id, True
