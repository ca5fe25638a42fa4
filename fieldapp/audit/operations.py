"""Writing the audit log from operations (same transaction as the change)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_login import current_user
from sqlalchemy import insert, inspect

from fieldapp.audit.models import AuditEntry
from fieldapp.extensions import db
from fieldapp.models import current_node_id, new_id, utcnow

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


def values(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row written with Core (a dict of column values) as :func:`snapshot` shows a record."""
    return {k: _jsonable(v) for k, v in row.items() if k not in _SKIP}


def _changes(before: dict[str, Any] | None, after: dict[str, Any]
             ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Keep only what changed between two snapshots (all of ``after`` for a create)."""
    if before is None:
        return None, after
    changed = {k for k in after if before.get(k) != after.get(k)}
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def _actor() -> Any:
    """The logged-in user, or ``None`` (a command, an anonymous request)."""
    user = current_user._get_current_object() if current_user else None
    return user if user is not None and user.is_authenticated else None


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
    before, after = _changes(before, snapshot(obj) if after is None else after)
    user = _actor()
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


def record_many(entity_type: str, entries: list[tuple[str, uuid.UUID, uuid.UUID | None,
                                                      dict[str, Any] | None, dict[str, Any]]]
                ) -> None:
    """Add many audit entries in one statement, as :func:`record` would add them one by one
    (a 60-family attendance sheet writes 60).

    :param entries: ``(action, entity id, family id, before, after)``, with ``before`` and
        ``after`` snapshots (:func:`snapshot`, :func:`values`); ``before`` is ``None`` for a
        create.
    """
    if not entries:
        return
    db.session.flush()
    user = _actor()
    user_id, username = (user.id, user.username) if user is not None else (None, None)
    at = utcnow()
    node = current_node_id()
    rows = []
    for action, entity_id, family_id, before, after in entries:
        before, after = _changes(before, after)
        rows.append({
            "id": new_id(), "at": at, "node_id": node, "user_id": user_id, "username": username,
            "action": action, "entity_type": entity_type, "entity_id": entity_id,
            "family_id": family_id, "before": before, "after": after,
        })
    db.session.execute(insert(AuditEntry), rows)
