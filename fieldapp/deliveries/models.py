"""Benefit deliveries: append-only; a mistake is corrected by a reversal."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.agreements.models import Agreement, BenefitType
from fieldapp.checks import one_of
from fieldapp.families.models import Family
from fieldapp.models import Base, SyncedMixin

RECEIPT_KINDS = ("signature", "thumbprint_paper", "none")


class Delivery(SyncedMixin, Base):
    """A benefit handed to a family against its active agreement.

    A reversal is a delivery row with ``reverses_id`` set; its quantity counts negatively.
    """

    __tablename__ = "benefit_deliveries"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(one_of("receipt_kind", RECEIPT_KINDS), name="receipt_kind"),
        # A family's deliveries by date (the suspected-double check, the family page) are
        # read from the dashboard's ix_dash_deliveries_family (family, date, ...).
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"))
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"), index=True)
    # No index of its own: no query looks deliveries up by benefit alone (migration 0012).
    benefit_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("benefit_types.id"))
    item: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit: Mapped[str] = mapped_column(String(30))
    delivered_on: Mapped[date] = mapped_column(index=True)
    delivered_by_id: Mapped[uuid.UUID | None]
    delivered_by_name: Mapped[str] = mapped_column(String(120))
    receipt_kind: Mapped[str] = mapped_column(String(20), default="none")
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("benefit_deliveries.id"), unique=True
    )
    reason: Mapped[str | None] = mapped_column(Text)
    over_promise_confirmed: Mapped[bool] = mapped_column(default=False)
    #: Set when another delivery of the same item to the same family looks like a double.
    suspected_duplicate_of_id: Mapped[uuid.UUID | None]

    family: Mapped[Family] = relationship()
    agreement: Mapped[Agreement] = relationship()
    benefit_type: Mapped[BenefitType] = relationship()
    reverses: Mapped[Delivery | None] = relationship(remote_side="Delivery.id")

    @property
    def signed_quantity(self) -> Decimal:
        """The quantity as it counts in totals: negative for a reversal."""
        return -self.quantity if self.reverses_id else self.quantity
