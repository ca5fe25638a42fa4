"""Attachments: photos and scans kept as evidence of a record (issue 27).

One row per attachment: the record it belongs to (``owner_table`` + ``owner_id``, and always the
family, which gives its scope), its kind, caption, the SHA-256 of its bytes (the file's name in
the media store), size, type and pixels read from the decoded image, who attached it and when,
and — only when the person chose to keep them — the capture time and place. The row syncs as an
append-only record with the family's records; the bytes travel apart (``sync/media``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.checks import in_range, one_of
from fieldapp.models import Base, SyncedMixin, utcnow

#: The records an attachment may belong to (their tables).
OWNER_TABLES = ("families", "agreements", "benefit_deliveries", "compliance_visits")
#: What an attachment shows: a photo (house, plot, forest), a scan of a paper-signed
#: agreement page, a delivery's receipt or thumbprint, evidence found on a visit.
KINDS = ("photo", "scan", "receipt", "evidence")


class Attachment(SyncedMixin, Base):
    """A photo or scan attached to a family, agreement, delivery or visit."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(one_of("owner_table", OWNER_TABLES), name="owner_table"),
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(in_range("lat", -90, 90), name="lat_range"),
        CheckConstraint(in_range("lon", -180, 180), name="lon_range"),
        Index("ix_attachments_owner", "owner_id", "created_at"),
    )

    #: The family the owner belongs to (the family itself for a family's photo): its scope.
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    owner_table: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))
    caption: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 of the stored bytes: the file's name in the media store.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    #: Read from the decoded image, never from the upload.
    mime: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: The user name of who attached it.
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    #: When and where it was taken, kept only when the person chose to (personal data).
    taken_at: Mapped[datetime | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    #: A wrong attachment (a photo of the wrong family) is voided, never deleted: why, by whom
    #: (user name) and when. The row and its file are kept for auditors.
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_by: Mapped[str | None] = mapped_column(String(64))
    voided_at: Mapped[datetime | None]


class OnCentral(Base):
    """A file this node knows central holds (central said so, or took its last piece): not
    asked about again at every sync. Local to the node (not synced)."""

    __tablename__ = "media_on_central"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When this node removed its copy (``fieldapp media prune``): kept on central only.
    pruned_at: Mapped[datetime | None]


class MediaRequest(Base):
    """Central: an original a coordinator asked for (its kind is not taken eagerly): the node
    that holds it sends it at its next sync. Central's only (not synced)."""

    __tablename__ = "media_requests"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str | None] = mapped_column(String(64))
