"""Field nodes known to central, with revocable credentials."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.communities.models import Community
from fieldapp.models import Base, TimestampMixin, new_id

node_communities = Table(
    "node_communities",
    Base.metadata,
    Column("node_id", ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
)


class Node(TimestampMixin, Base):
    """A field device registered on central; its scope is the communities it serves."""

    __tablename__ = "nodes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(8), unique=True)
    enrol_code_hash: Mapped[str | None] = mapped_column(String(255))
    enrol_expires_at: Mapped[datetime | None]
    credential_hash: Mapped[str | None] = mapped_column(String(255))
    enrolled_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_contact_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    app_version: Mapped[str | None] = mapped_column(String(20))
    schema_version: Mapped[str | None] = mapped_column(String(40))
    pending_reported: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    communities: Mapped[list[Community]] = relationship(
        secondary=node_communities, order_by="Community.name"
    )
