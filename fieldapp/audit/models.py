"""The audit log: who changed what, when, on which node, before and after."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.models import Base, current_node_id, new_id, utcnow


class AuditEntry(Base):
    """One recorded action. Append-only; synced to central like any event."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[uuid.UUID | None]
    username: Mapped[str | None] = mapped_column(String(64))
    node_id: Mapped[str] = mapped_column(String(36), default=current_node_id)
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID]
    #: The family an entry concerns, so a family's whole history is one indexed query.
    family_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
