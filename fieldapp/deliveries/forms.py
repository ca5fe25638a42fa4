"""Delivery and reversal forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from fieldapp.forms import CreateForm


class DeliveryForm(CreateForm):
    """A benefit handed to a family, with its receipt."""

    family_id = HiddenField(validators=[DataRequired()])
    benefit_type_id = SelectField(_l("Benefit"), choices=[], validators=[DataRequired()])
    item = StringField(_l("Item"), validators=[Optional(), Length(max=200)])
    quantity = DecimalField(
        _l("Quantity"), places=2,
        validators=[DataRequired(), NumberRange(min=0.01, max=1_000_000,
                                                message=_l("Above 0 and up to 1,000,000."))])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=30)])
    delivered_on = DateField(_l("Date of delivery"), validators=[DataRequired()])
    delivered_by_name = StringField(_l("Delivered by"),
                                    validators=[DataRequired(), Length(max=120)])
    receipt_kind = RadioField(
        _l("Receipt"),
        choices=[SelectChoice("signature", _l("Signed on this tablet")),
                 SelectChoice("thumbprint_paper", _l("Thumbprint on the paper receipt"))],
        default="signature",
        validators=[DataRequired()],
    )
    receiver_name = StringField(_l("Received by"), validators=[Optional(), Length(max=120)])
    receipt_signature = HiddenField()
    confirm_over_promise = BooleanField(_l("Deliver more than the agreement promises"))

    def field_data(self) -> dict[str, Any]:
        """The values the operations take."""
        return {name: field.data for name, field in self._fields.items()
                if name not in ("csrf_token", "idempotency_key")}


class ReversalForm(CreateForm):
    """Reverse a delivery recorded by mistake."""

    reason = TextAreaField(_l("Why is it reversed?"), validators=[DataRequired(), Length(max=500)])
