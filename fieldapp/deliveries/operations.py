"""Recording and reversing benefit deliveries. History is never edited or deleted.

A delivery is accepted only against the family's **active** agreement in force on its date; it
is refused, with the reason, when the agreement is suspended, terminated, ended or not signed.
A delivery above what the agreement promises for its period needs an explicit confirmation.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from fieldapp.agreements.catalogue import quantity_with_unit
from fieldapp.agreements.models import Agreement, AgreementBenefit, BenefitType
from fieldapp.agreements.operations import agreement_for_delivery, parse_quantity
from fieldapp.agreements.queries import family_agreements
from fieldapp.agreements.rules import status_label
from fieldapp.agreements.signatures import add_signature, decode_signature
from fieldapp.audit.operations import record
from fieldapp.auth.access import check_write_scope
from fieldapp.codes import next_code
from fieldapp.deliveries.models import Delivery
from fieldapp.deliveries.queries import delivered_by_benefit
from fieldapp.errors import AppError, ConfirmationNeeded, DeliveryRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.models import new_id, utcnow
from fieldapp.submissions import local_today

#: Share of the promise a family receives while a "reduced benefits" sanction is confirmed.
REDUCED_BENEFITS_SHARE = Decimal("0.5")


class OverPromise(ConfirmationNeeded):
    """The delivery goes beyond what the agreement promises; it needs a confirmation."""

    code = "over_promise"
    status = 422


class ReversalRefused(AppError):
    code = "reversal_refused"
    status = 409
    message = _l("This delivery cannot be reversed.")


def refusal_for(family_id: uuid.UUID, on: date) -> AppError | None:
    """Why a delivery to this family on ``on`` would be refused, or ``None`` when it would not."""
    agreements = family_agreements(family_id)
    if any(a.status == "active" and a.period_start <= on for a in agreements):
        return None
    later = next((a for a in agreements if a.status == "active"), None)
    if later is not None:
        return ValidationFailed(
            _l("Agreement %(number)s starts on %(start)s; a delivery cannot be dated before it.",
               number=later.number, start=later.period_start.isoformat()),
            field="delivered_on")
    if not agreements:
        return DeliveryRefused(_l("This family has no agreement. Draft and sign one first."),
                               reason="no_agreement")
    latest = agreements[0]
    for status in ("suspended", "terminated", "signed", "draft"):
        found = next((a for a in agreements if a.status == status), None)
        if found is not None:
            latest = found
            break
    number, why = latest.number, latest.status_reason or status_label(latest.status)
    if latest.status == "suspended":
        message = _l("Agreement %(number)s is suspended (%(why)s). Benefits are withheld until "
                     "a coordinator reactivates it.", number=number, why=why)
    elif latest.status == "terminated":
        message = _l("Agreement %(number)s was terminated (%(why)s). No benefits are delivered.",
                     number=number, why=why)
    elif latest.status == "signed":
        message = _l("Agreement %(number)s is signed but not active yet; a coordinator "
                     "activates it.", number=number)
    elif latest.status == "draft":
        message = _l("Agreement %(number)s is not signed yet. Sign it first.", number=number)
    else:
        message = _l("Agreement %(number)s has ended (%(why)s). Renew it first.",
                     number=number, why=why)
    reason = {"suspended": "suspended", "terminated": "terminated", "signed": "not_active",
              "draft": "not_signed"}.get(latest.status, "ended")
    return DeliveryRefused(message, reason=reason, agreement=number, status=latest.status)


def allowed_quantity(
    agreement: Agreement, benefit_type_id: uuid.UUID
) -> tuple[Decimal, Decimal, AgreementBenefit | None]:
    """What the agreement allows of a benefit for its period, what was delivered (net), and the
    promise itself (``None`` when the benefit is not promised)."""
    from fieldapp.compliance.models import Sanction

    promise = next((b for b in agreement.benefits
                    if b.benefit_type_id == benefit_type_id and not b.voided), None)
    allowed = promise.quantity if promise else Decimal(0)
    reduced = db.session.scalar(
        select(func.count(Sanction.id)).where(
            Sanction.agreement_id == agreement.id, Sanction.level == "reduced_benefits",
            Sanction.status == "confirmed", Sanction.voided.is_(False)))
    if reduced:
        allowed = (allowed * REDUCED_BENEFITS_SHARE).quantize(Decimal("0.01"))
    # Grouped over the agreement's deliveries only: a condition on the benefit type would
    # tempt SQLite into that (much less selective) index.
    delivered = delivered_by_benefit([agreement.id]).get(benefit_type_id, Decimal(0))
    return allowed, delivered, promise


def _text(value: Any, field: str, limit: int) -> str | None:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise ValidationFailed(_l("At most %(n)s characters.", n=limit), field=field)
    return text or None


def _check_date(delivered_on: Any) -> date:
    if not isinstance(delivered_on, date):
        raise ValidationFailed(_l("Enter the date of the delivery."), field="delivered_on")
    if delivered_on > local_today():
        raise ValidationFailed(_l("A delivery cannot be dated in the future."),
                               field="delivered_on")
    return delivered_on


def find_double(family_id: uuid.UUID, benefit_type_id: uuid.UUID, item: str,
                on: date) -> Delivery | None:
    """An earlier delivery (not reversed) of the same item of the same benefit to the same
    family on the same day: a suspected double delivery."""
    same_day = db.session.execute(
        select(Delivery).where(Delivery.family_id == family_id, Delivery.delivered_on == on)
    ).scalars().all()  # the (family, date) index: a handful of rows
    candidates = [d for d in same_day if d.benefit_type_id == benefit_type_id
                  and d.item.lower() == item.lower() and d.reverses_id is None and not d.voided]
    if not candidates:
        return None
    reversed_ids = {d.reverses_id for d in same_day if d.reverses_id} | set(
        db.session.execute(select(Delivery.reverses_id).where(
            Delivery.reverses_id.in_([d.id for d in candidates]))).scalars())
    live = sorted((d for d in candidates if d.id not in reversed_ids), key=lambda d: d.created_at)
    return live[0] if live else None


def record_delivery(family: Family | None, data: dict[str, Any], user: Any = None) -> Delivery:
    """Record a benefit handed to a family against its active agreement.

    :param data: ``benefit_type_id``, ``item``, ``quantity``, ``unit``, ``delivered_on``,
        ``delivered_by_name``, ``receipt_kind`` (``signature`` or ``thumbprint_paper``),
        ``receipt_signature`` (PNG data URL), ``receiver_name``, ``confirm_over_promise``.
    :raises DeliveryRefused: no active agreement (suspended, terminated, ended, not signed).
    :raises OverPromise: more than the agreement promises, without confirmation.
    :raises ValidationFailed: a missing or invalid value (future date, bad signature...).
    """
    if family is None or family.voided:
        raise ValidationFailed(_l("Choose a family."), field="family_id")
    check_write_scope(family.community_id, "family_id")
    delivered_on = _check_date(data.get("delivered_on"))
    try:
        btype = db.session.get(BenefitType, uuid.UUID(str(data.get("benefit_type_id"))))
    except ValueError:
        btype = None
    if btype is None or btype.voided:
        raise ValidationFailed(_l("Choose the benefit."), field="benefit_type_id")
    quantity = parse_quantity(data.get("quantity"), "quantity")
    agreement = agreement_for_delivery(family.id, delivered_on)
    if agreement is None:
        refusal = refusal_for(family.id, delivered_on)
        assert refusal is not None
        raise refusal
    allowed, delivered, promise = allowed_quantity(agreement, btype.id)
    unit = _text(data.get("unit"), "unit", 30) or (promise.unit if promise else btype.default_unit)
    if promise is not None and unit.lower() != promise.unit.lower():
        raise ValidationFailed(_l("Agreement %(number)s counts this benefit in %(unit)s.",
                                  number=agreement.number, unit=promise.unit), field="unit")
    item = _text(data.get("item"), "item", 200) or btype.name_es
    confirmed = bool(data.get("confirm_over_promise"))
    if delivered + quantity > allowed and not confirmed:
        raise OverPromise(
            _l("Agreement %(number)s allows %(allowed)s of this benefit for its period; "
               "%(delivered)s were delivered already. Tick the box to confirm this delivery of "
               "%(quantity)s anyway.", number=agreement.number,
               allowed=quantity_with_unit(allowed, unit), delivered=_n(delivered),
               quantity=_n(quantity)),
            confirm="confirm_over_promise", allowed=str(allowed), delivered=str(delivered),
            requested=str(quantity))
    receipt = data.get("receipt_kind")
    if receipt not in ("signature", "thumbprint_paper"):
        raise ValidationFailed(_l("Choose how the family acknowledged the receipt."),
                               field="receipt_kind")
    receiver = _text(data.get("receiver_name"), "receiver_name", 120) or family.head_name
    image = (decode_signature(data.get("receipt_signature"), "receipt_signature")
             if receipt == "signature" else None)
    delivered_by = _text(data.get("delivered_by_name"), "delivered_by_name", 120)
    if not delivered_by:
        raise ValidationFailed(_l("This field is required."), field="delivered_by_name")
    double = find_double(family.id, btype.id, item, delivered_on)
    delivery = Delivery(
        id=new_id(),
        code=next_code("D", width=6),
        family_id=family.id,
        agreement_id=agreement.id,
        benefit_type_id=btype.id,
        item=item,
        quantity=quantity,
        unit=unit,
        delivered_on=delivered_on,
        delivered_by_id=getattr(user, "id", None),
        delivered_by_name=delivered_by,
        receipt_kind=receipt,
        over_promise_confirmed=delivered + quantity > allowed,
        suspected_duplicate_of_id=double.id if double else None,
    )
    db.session.add(delivery)
    if image is not None:
        db.session.flush()  # Signature has no relationship to Delivery to order the inserts
        add_signature(role="receipt", name=receiver, signed_at=utcnow(), image=image,
                      delivery_id=delivery.id, dni=None)
    record("create", delivery, family_id=family.id)
    return delivery


def _n(value: Decimal) -> str:
    """A quantity without trailing zeros (``1000`` rather than ``1000.00``)."""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def reverse_delivery(delivery: Delivery, reason: Any, user: Any = None) -> Delivery:
    """Correct a mistaken delivery with a reversal entry that references it.

    The original stays as it was; the reversal counts its quantity negatively.

    :raises ReversalRefused: it is a reversal itself, or was reversed already.
    :raises ValidationFailed: no reason given.
    """
    check_write_scope(delivery.family.community_id)
    if delivery.voided or delivery.reverses_id is not None:
        raise ReversalRefused(_l("A reversal cannot be reversed; record the delivery again."))
    existing = db.session.execute(
        select(Delivery).where(Delivery.reverses_id == delivery.id)).scalar_one_or_none()
    if existing is not None:
        raise ReversalRefused(_l("This delivery was already reversed by %(code)s.",
                                 code=existing.code))
    reason = _text(reason, "reason", 500)
    if not reason:
        raise ValidationFailed(_l("Write why this delivery is reversed."), field="reason")
    today = max(local_today(), delivery.delivered_on)
    reversal = Delivery(
        id=new_id(),
        code=next_code("D", width=6),
        family_id=delivery.family_id,
        agreement_id=delivery.agreement_id,
        benefit_type_id=delivery.benefit_type_id,
        item=delivery.item,
        quantity=delivery.quantity,
        unit=delivery.unit,
        delivered_on=today,
        delivered_by_id=getattr(user, "id", None),
        delivered_by_name=getattr(user, "full_name", None) or delivery.delivered_by_name,
        receipt_kind="none",
        reverses_id=delivery.id,
        reason=reason,
    )
    db.session.add(reversal)
    record("reverse", reversal, family_id=delivery.family_id)
    return reversal
