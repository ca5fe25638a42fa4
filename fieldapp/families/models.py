"""Families (households) that sign conservation agreements."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.checks import in_range, one_of, only_digits
from fieldapp.communities.models import Community
from fieldapp.models import Base, SyncedMixin, TimestampMixin

FAMILY_STATUSES = ("active", "withdrawn")
#: Why a family left the program (see :func:`fieldapp.families.operations.withdraw_family`).
WITHDRAWAL_REASONS = ("moved_away", "deceased", "consent_withdrawn", "other")


class Family(SyncedMixin, Base):
    """A household: its head, members, plot and consent to data use."""

    __tablename__ = "families"
    __table_args__ = (
        CheckConstraint(only_digits("dni", 8), name="dni_8_digits"),
        CheckConstraint(in_range("lat", -90, 90), name="lat_range"),
        CheckConstraint(in_range("lon", -180, 180), name="lon_range"),
        CheckConstraint("members_count >= 1 AND members_count <= 50", name="members_count"),
        CheckConstraint("plot_ha IS NULL OR plot_ha >= 0", name="plot_ha"),
        CheckConstraint("forest_ha IS NULL OR forest_ha >= 0", name="forest_ha"),
        CheckConstraint("coffee_ha IS NULL OR coffee_ha >= 0", name="coffee_ha"),
        CheckConstraint(one_of("status", FAMILY_STATUSES), name="status"),
        Index("ix_families_community_name", "community_id", "head_surname", "head_given_names"),
        # Covers the list's order, the search filter and its count (``voided``, ``status``): a
        # rare match is found, and families are counted, in the index alone.
        Index("ix_families_name", "head_surname", "head_given_names", "code", "search_text",
              "voided", "status"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Looked up through ix_families_community_name (community, surname, given names).
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"))
    head_given_names: Mapped[str] = mapped_column(String(120))
    head_surname: Mapped[str] = mapped_column(String(120))
    dni: Mapped[str | None] = mapped_column(String(8), index=True)
    members_count: Mapped[int] = mapped_column(default=1)
    phone: Mapped[str | None] = mapped_column(String(20))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    plot_name: Mapped[str | None] = mapped_column(String(120))
    plot_ha: Mapped[float | None]
    forest_ha: Mapped[float | None]
    coffee_ha: Mapped[float | None]
    data_consent: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="active")
    notes: Mapped[str | None] = mapped_column(Text)
    #: Lower-case, accent-free "names code dni", kept by :func:`_fill_search_text`.
    search_text: Mapped[str] = mapped_column(String(400), default="", server_default="")
    #: The family this one was merged into (a coordinator found one family registered
    #: twice): this record is then a voided tombstone whose page and code lead there.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id"),
                                                             index=True)
    #: Why (one of :data:`WITHDRAWAL_REASONS`, checked by the operation: the column is added
    #: in place, without a table rebuild) and when a family left the program.
    withdrawn_reason: Mapped[str | None] = mapped_column(String(20))
    withdrawn_on: Mapped[date | None]

    community: Mapped[Community] = relationship()

    @property
    def head_name(self) -> str:
        """The head of household's full name, as printed."""
        return f"{self.head_given_names} {self.head_surname}"

    def __repr__(self) -> str:
        return f"<Family {self.code}>"


class DistinctFamilies(TimestampMixin, Base):
    """A pair a coordinator said are two families, not one registered twice: never proposed
    as a duplicate again. Central's own (the review happens there); it does not sync."""

    __tablename__ = "family_distinct_pairs"
    __table_args__ = (UniqueConstraint("family_a_id", "family_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: The smaller id of the pair first, so a pair is one row whichever way it was shown.
    family_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"))
    family_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"))
    decided_by: Mapped[str] = mapped_column(String(80))


def normalize(text: str) -> str:
    """Lower-case, accent-free, single-spaced text: ``"Huamán  Peña"`` → ``"huaman pena"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def search_text_for(values: dict[str, Any] | Family) -> str:
    """What a family is found by: given names, surnames, code and DNI."""
    get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    parts = [get("head_given_names"), get("head_surname"), get("code"), get("dni")]
    return normalize(" ".join(p for p in parts if p))


@event.listens_for(Family, "before_insert")
@event.listens_for(Family, "before_update")
def _fill_search_text(mapper: Any, connection: Any, family: Family) -> None:
    family.search_text = search_text_for(family)
