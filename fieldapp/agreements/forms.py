"""Forms of the agreements: draft (from the catalogues), signing, status, catalogue entries."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from fieldapp.agreements.models import BenefitType
from fieldapp.forms import CreateForm, RangedIntegerField
from fieldapp.labels import LABELS


class MultiCheckboxField(SelectMultipleField):
    """A list of check boxes (big touch targets) instead of a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AgreementForm(CreateForm):
    """Draft (or edit a draft of) an agreement; benefit rows are added per catalogue entry."""

    family_id = HiddenField(validators=[DataRequired()])
    #: The id the tablet made for a draft made offline (checked by create_agreement), so that
    #: its signature, queued after it, can name it.
    record_id = HiddenField()
    period_start = DateField(_l("Period starts"), validators=[DataRequired()])
    period_end = DateField(_l("Period ends"), validators=[DataRequired()])
    starts_on_signing = BooleanField(
        _l("It starts on the day it is signed (same length), if that is later"), default=True)
    commitments = MultiCheckboxField(_l("Commitments of the family"), choices=[])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])

    benefit_codes: list[str] = []

    def benefit_rows(self) -> list[tuple[str, Any, Any, Any]]:
        """(code, quantity field, unit field, schedule field) for each catalogue benefit."""
        return [
            (code, self[f"qty_{code}"], self[f"unit_{code}"], self[f"schedule_{code}"])
            for code in self.benefit_codes
        ]

    def terms(self, benefit_types: dict[str, BenefitType]) -> dict[str, Any]:
        """The values the operations take."""
        benefits = []
        for code, qty, unit, schedule in self.benefit_rows():
            if qty.data is None:
                continue
            benefits.append({
                "benefit_type_id": benefit_types[code].id,
                "quantity": qty.data,
                "unit": unit.data,
                "schedule": schedule.data,
                "field": f"qty_{code}",
            })
        return {
            "period_start": self.period_start.data,
            "period_end": self.period_end.data,
            "commitment_type_ids": list(self.commitments.data or []),
            "benefits": benefits,
            "notes": self.notes.data,
            "starts_on_signing": bool(self.starts_on_signing.data),
            "record_id": self.record_id.data,
        }


def agreement_form_class(benefit_types: list[BenefitType]) -> type[AgreementForm]:
    """An :class:`AgreementForm` with a quantity, unit and schedule per catalogue benefit."""
    attrs: dict[str, Any] = {"benefit_codes": [b.code for b in benefit_types]}
    for btype in benefit_types:
        attrs[f"qty_{btype.code}"] = DecimalField(
            _l("Quantity"), places=2,
            validators=[Optional(), NumberRange(min=0.01, max=1_000_000,
                                                message=_l("Above 0 and up to 1,000,000."))],
        )
        attrs[f"unit_{btype.code}"] = StringField(
            _l("Unit"), default=btype.default_unit, validators=[Optional(), Length(max=30)])
        attrs[f"schedule_{btype.code}"] = StringField(
            _l("Schedule"), validators=[Optional(), Length(max=120)])
    return type("AgreementDraftForm", (AgreementForm,), attrs)


class SignForm(CreateForm):
    """Sign a draft: drawn on the tablet, or marked as signed on paper."""

    mode = RadioField(
        _l("How was it signed?"),
        choices=[SelectChoice("pad", _l("On this tablet")),
                 SelectChoice("paper", _l("On paper (ink)"))],
        default="pad",
        validators=[DataRequired()],
    )
    family_name = StringField(_l("Family representative"),
                              validators=[DataRequired(), Length(max=120)])
    family_dni = StringField(_l("Representative's DNI"), validators=[Optional(), Length(max=8)])
    family_signature = HiddenField()
    staff_name = StringField(_l("Program staff member"),
                             validators=[DataRequired(), Length(max=120)])
    staff_signature = HiddenField()
    witness_name = StringField(_l("Witness (optional)"), validators=[Optional(), Length(max=120)])
    witness_signature = HiddenField()
    place = StringField(_l("Place of signing"), validators=[Optional(), Length(max=120)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    paper_date = DateField(_l("Date written on the paper"), validators=[Optional()])
    #: When the pads were drawn, by the tablet's clock (an offline signature reaches the node
    #: later); the node takes it within bounds (``signing.drawing_time``).
    drawn_at = HiddenField()

    def field_data(self) -> dict[str, Any]:
        """The values the operations take (everything but the CSRF token and key)."""
        return {name: field.data for name, field in self._fields.items()
                if name not in ("csrf_token", "idempotency_key")}


class StatusForm(FlaskForm):
    """Move an agreement to another status, with a reason."""

    to = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class SuccessorForm(CreateForm):
    """Start an amendment or a renewal (a button; the key makes a double tap harmless)."""


class CommitmentTypeForm(FlaskForm):
    """A commitment of the catalogue."""

    code = StringField(_l("Code"), validators=[Optional(), Length(max=40)])
    text_es = TextAreaField(_l("Text in Spanish"), validators=[DataRequired(), Length(max=1000)])
    text_en = TextAreaField(_l("Text in English"), validators=[DataRequired(), Length(max=1000)])
    position = RangedIntegerField(_l("Order"), default=0, validators=[Optional()],
                                  low=0, high=999)
    active = BooleanField(_l("Offered in new agreements"), default=True)


class BenefitTypeForm(FlaskForm):
    """A benefit of the catalogue."""

    code = StringField(_l("Code"), validators=[Optional(), Length(max=40)])
    category = SelectField(_l("Category"), choices=[])
    name_es = StringField(_l("Name in Spanish"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    # The unit in the singular and plural ("1 kit", "3 kits"); English ones are optional.
    unit_one_es = StringField(_l("Unit in Spanish, singular (1 botiquín)"),
                              validators=[DataRequired(), Length(max=30)])
    unit_other_es = StringField(_l("Unit in Spanish, plural (3 botiquines)"),
                                validators=[DataRequired(), Length(max=30)])
    unit_one_en = StringField(_l("Unit in English, singular (1 first-aid kit)"),
                              validators=[Optional(), Length(max=30)])
    unit_other_en = StringField(_l("Unit in English, plural (3 first-aid kits)"),
                                validators=[Optional(), Length(max=30)])
    position = RangedIntegerField(_l("Order"), default=0, validators=[Optional()],
                                  low=0, high=999)
    active = BooleanField(_l("Offered in new agreements"), default=True)


CATEGORY_LABELS = LABELS["benefit_category"]
