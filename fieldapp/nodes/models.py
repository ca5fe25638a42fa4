"""Field nodes known to central, with revocable credentials; and the sync engine's tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.communities.models import Community
from fieldapp.models import Base, TimestampMixin, new_id
from sync.schema import define_tables

#: The sync engine's bookkeeping tables (outbox, change log, conflicts...), on our metadata so
#: migrations see them. They are local: they never sync themselves.
SYNC_TABLES = define_tables(Base.metadata)

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
    #: The node serves every community (e.g. the office's own node); it may create communities.
    all_communities: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: Stable code of the last error (``node_revoked``, ``schema_mismatch``...), for the dashboard.
    last_error_code: Mapped[str | None] = mapped_column(String(40))
    #: Records the node reported as refused (kept on the node with their reason).
    quarantined_reported: Mapped[int | None]
    #: The node's clock minus central's at the last handshake (seconds), when noticeably off.
    clock_skew_s: Mapped[int | None]
    #: The node's own local (emergency) accounts as it last reported them: user name, name,
    #: role, active, made at — never a password hash.
    local_accounts: Mapped[list[Any] | None]
    accounts_reported_at: Mapped[datetime | None]

    communities: Mapped[list[Community]] = relationship(
        secondary=node_communities, order_by="Community.name"
    )

    @property
    def status(self) -> str:
        """``revoked``, ``enrolled`` or ``awaiting_enrolment``."""
        if self.revoked_at is not None:
            return "revoked"
        return "enrolled" if self.credential_hash else "awaiting_enrolment"
