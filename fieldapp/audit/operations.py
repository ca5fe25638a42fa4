"""Writing the audit log from operations (same transaction as the change)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_login import current_user
from sqlalchemy import inspect

from fieldapp.audit.models import AuditEntry
from fieldapp.extensions import db

#: Columns not worth repeating in every audit entry.
_SKIP = {"created_at", "updated_at", "version", "image_png"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The record's column values as JSON-able data (for ``before``/``after``)."""
    mapper = inspect(obj).mapper
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in _SKIP
    }


def record(
    action: str,
    obj: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    family_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Add an audit entry for ``action`` on ``obj`` by the current user.

    :param action: e.g. ``create``, ``update``, ``reverse``, ``status:active``,
        ``sanction:confirm``.
    :param before: the snapshot before the change (``None`` for a create).
    :param after: the snapshot after; taken from ``obj`` when not given.
    :param family_id: the family the entry concerns, for the family's history.
    """
    db.session.flush()
    if after is None:
        after = snapshot(obj)
    if before is not None:  # keep only what changed, plus nothing else
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    user = current_user if current_user and current_user.is_authenticated else None
    entry = AuditEntry(
        user_id=user.id if user else None,
        username=user.username if user else None,
        action=action,
        entity_type=type(obj).__tablename__,
        entity_id=obj.id,
        family_id=family_id,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry
