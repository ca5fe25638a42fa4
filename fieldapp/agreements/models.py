"""Agreements, their commitments and promised benefits, the catalogues, and signatures."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.checks import in_range, one_of
from fieldapp.families.models import Family
from fieldapp.formatting import UnitForms
from fieldapp.models import Base, SyncedMixin

AGREEMENT_STATUSES = (
    "draft", "signed", "active", "suspended", "completed", "terminated", "superseded",
)
AGREEMENT_KINDS = ("original", "amendment", "renewal")
BENEFIT_CATEGORIES = (
    "training",
    "technical_assistance",
    "educational_materials",
    "medical_supplies",
    "seedlings",
    "cookstove",
    "other",
)
SIGNER_ROLES = ("family", "staff", "witness", "receipt")


class CommitmentType(SyncedMixin, Base):
    """A commitment of the catalogue, e.g. "no clearing of primary forest" (Spanish and English)."""

    __tablename__ = "commitment_types"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    text_es: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def text(self, locale: str) -> str:
        """The commitment's text in ``locale`` (Spanish unless English is asked)."""
        return self.text_en if locale.startswith("en") else self.text_es


def _unit_as_typed(context: Any) -> str:
    """A benefit added without unit forms (older code, a test) shows its unit as typed."""
    return str(context.get_current_parameters().get("default_unit") or "")


class BenefitType(SyncedMixin, Base):
    """A benefit of the catalogue, e.g. coffee seedlings, with its default unit."""

    __tablename__ = "benefit_types"
    __table_args__ = (CheckConstraint(one_of("category", BENEFIT_CATEGORIES), name="category"),)

    code: Mapped[str] = mapped_column(String(40), unique=True)
    category: Mapped[str] = mapped_column(String(30))
    name_es: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    default_unit: Mapped[str] = mapped_column(String(30))
    # The unit's singular and plural ("kit"/"kits"), shown by quantity ("1 kit", "3 kits"); the
    # English forms are optional (the Spanish ones are shown without them).
    unit_one_es: Mapped[str] = mapped_column(String(30), default=_unit_as_typed)
    unit_other_es: Mapped[str] = mapped_column(String(30), default=_unit_as_typed)
    unit_one_en: Mapped[str | None] = mapped_column(String(30))
    unit_other_en: Mapped[str | None] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, locale: str) -> str:
        """The benefit's name in ``locale``."""
        return self.name_en if locale.startswith("en") else self.name_es

    def unit_forms(self) -> UnitForms:
        """The unit's singular and plural forms (see ``fieldapp.formatting.quantity_with_unit``)."""
        return UnitForms(self.unit_one_es, self.unit_other_es, self.unit_one_en,
                         self.unit_other_en)


class Agreement(SyncedMixin, Base):
    """One version of a family's conservation agreement for a period.

    A signed version is never edited: an amendment or the next period's renewal is a new row
    linked through ``supersedes_id``.
    """

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint(one_of("status", AGREEMENT_STATUSES), name="status"),
        CheckConstraint(one_of("kind", AGREEMENT_KINDS), name="kind"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("version_no >= 1", name="version_no"),
        CheckConstraint(in_range("signed_lat", -90, 90), name="signed_lat_range"),
        CheckConstraint(in_range("signed_lon", -180, 180), name="signed_lon_range"),
    )

    number: Mapped[str] = mapped_column(String(40), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    year: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    # Looked up through the dashboard's ix_dash_agreements_status (status, period, ...).
    status: Mapped[str] = mapped_column(String(12), default="draft")
    kind: Mapped[str] = mapped_column(String(12), default="original")
    version_no: Mapped[int] = mapped_column(default=1)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreements.id"), index=True
    )
    signed_at: Mapped[datetime | None]
    signed_place: Mapped[str | None] = mapped_column(String(120))
    signed_lat: Mapped[float | None]
    signed_lon: Mapped[float | None]
    signed_on_paper: Mapped[bool] = mapped_column(default=False)
    #: The period moves to start on the signing day (same length) when signed on a later day
    #: than it starts: the form's default, and a draft made offline (see rules.py).
    starts_on_signing: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: The canonical, frozen content at signing, and its SHA-256 (hex).
    signed_content: Mapped[dict[str, Any] | None]
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None]
    created_by_name: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    #: Set by sync when two amendments of one base arrive from different nodes.
    conflict_flag: Mapped[str | None] = mapped_column(String(40))

    family: Mapped[Family] = relationship()
    supersedes: Mapped[Agreement | None] = relationship(remote_side="Agreement.id")
    commitments: Mapped[list[AgreementCommitment]] = relationship(
        back_populates="agreement", order_by="AgreementCommitment.position"
    )
    benefits: Mapped[list[AgreementBenefit]] = relationship(
        back_populates="agreement", order_by="AgreementBenefit.position"
    )
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="agreement", order_by="Signature.signed_at"
    )

    def __repr__(self) -> str:
        return f"<Agreement {self.number} v{self.version_no} {self.status}>"


class AgreementCommitment(SyncedMixin, Base):
    """A commitment as written into one agreement (text copied from the catalogue)."""

    __tablename__ = "agreement_commitments"
    __table_args__ = (UniqueConstraint("agreement_id", "commitment_type_id"),)

    # Looked up through the unique (agreement, commitment type) constraint's index.
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"))
    commitment_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commitment_types.id"))
    text_es: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    agreement: Mapped[Agreement] = relationship(back_populates="commitments")
    commitment_type: Mapped[CommitmentType] = relationship()

    def text(self, locale: str) -> str:
        """The commitment's text in ``locale``."""
        return self.text_en if locale.startswith("en") else self.text_es


class AgreementBenefit(SyncedMixin, Base):
    """A benefit promised by one agreement: type, quantity, unit and schedule."""

    __tablename__ = "agreement_benefits"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    benefit_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("benefit_types.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit: Mapped[str] = mapped_column(String(30))
    schedule: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(default=0)

    agreement: Mapped[Agreement] = relationship(back_populates="benefits")
    benefit_type: Mapped[BenefitType] = relationship()


class Signature(SyncedMixin, Base):
    """A signature drawn on the tablet (PNG), for an agreement or a delivery receipt."""

    __tablename__ = "signatures"
    __table_args__ = (
        CheckConstraint(one_of("signer_role", SIGNER_ROLES), name="signer_role"),
        CheckConstraint(
            "(agreement_id IS NOT NULL AND delivery_id IS NULL)"
            " OR (agreement_id IS NULL AND delivery_id IS NOT NULL)",
            name="one_parent",
        ),
        CheckConstraint(in_range("lat", -90, 90), name="lat_range"),
        CheckConstraint(in_range("lon", -180, 180), name="lon_range"),
    )

    agreement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("benefit_deliveries.id"), index=True
    )
    signer_role: Mapped[str] = mapped_column(String(12))
    signer_name: Mapped[str] = mapped_column(String(120))
    signer_dni: Mapped[str | None] = mapped_column(String(8))
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    signed_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    agreement: Mapped[Agreement | None] = relationship(back_populates="signatures")
