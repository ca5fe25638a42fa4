"""The declarative base shared by every domain: naming convention, types and mixins.

Every record that travels between field nodes and central carries :class:`SyncedMixin`:
a UUIDv7 made where the record is created, UTC timestamps, the node that created it, a version
counter bumped on every change, and a ``voided`` flag instead of hard deletes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    MetaData,
    String,
    Uuid,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from uuid6 import uuid7

# One timestamp type for the app's tables and the sync engine's: sync never imports fieldapp,
# so the app uses (and re-exports) the engine's — naive UTC stored, aware UTC returned.
from sync.schema import UTCDateTime as UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, made on whichever node creates the record."""
    return uuid.UUID(bytes=uuid7().bytes)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention Alembic can alter on SQLite."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            uuid.UUID: Uuid(),
            dict[str, Any]: JSON(),
            list[Any]: JSON(),
        },
    )


def current_node_id() -> str:
    """The node id of the running installation (set by ``create_app``)."""
    try:
        from flask import current_app

        return str(current_app.config.get("NODE_ID") or "unknown")
    except RuntimeError:  # outside an app context (scripts); the caller sets it explicitly
        return "unknown"


class SyncedMixin:
    """Columns every synced record carries."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    origin_node: Mapped[str] = mapped_column(String(36), default=current_node_id)
    version: Mapped[int] = mapped_column(Integer, default=1)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class TimestampMixin:
    """Creation and change times for local (non-synced) tables."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@event.listens_for(Session, "before_flush")
def _bump_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Every changed synced record gets a new version and ``updated_at``.

    Sync applies remote versions itself and marks the session with ``info["applying_remote"]``.
    """
    if session.info.get("applying_remote"):
        return
    now = utcnow()
    for obj in session.dirty:
        if isinstance(obj, SyncedMixin) and session.is_modified(obj, include_collections=False):
            obj.version = (obj.version or 0) + 1
            obj.updated_at = now
