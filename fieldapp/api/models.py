"""API tokens: what an analyst's program may read, until when (local to central, not synced)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.models import Base, new_id, utcnow


class ApiToken(Base):
    """A bearer token: its secret is shown once and stored as a SHA-256 digest only.

    ``datasets`` names the datasets it may read; ``community_ids`` the communities whose
    records it sees (empty: all); ``personal_data`` whether it reads DNI, phone and GPS.
    """

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    #: The token's public part (``fapi_<public_id>_<secret>``): finds the row, proves nothing.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    datasets: Mapped[list[str]] = mapped_column(JSON)
    community_ids: Mapped[list[str]] = mapped_column(JSON)
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None]
    revoked_by_name: Mapped[str | None] = mapped_column(String(120))
    last_used_at: Mapped[datetime | None]
    last_used_from: Mapped[str | None] = mapped_column(String(64))
