"""Family registration form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from fieldapp.forms import CreateForm, RangedIntegerField
from fieldapp.labels import LABELS

HECTARES = [Optional(), NumberRange(min=0, max=10000, message=_l("Between 0 and 10,000 ha."))]


class FamilyForm(CreateForm):
    #: The id the tablet made for a family registered offline (checked by create_family).
    record_id = HiddenField()
    community_id = SelectField(_l("Community"), choices=[], validators=[DataRequired()])
    head_given_names = StringField(
        _l("Given names of the head of household"), validators=[DataRequired(), Length(max=120)]
    )
    head_surname = StringField(_l("Surnames"), validators=[DataRequired(), Length(max=120)])
    dni = StringField(
        _l("DNI"),
        validators=[
            Optional(),
            Regexp(r"^\d{8}$", message=_l("A DNI has exactly 8 digits.")),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    members_count = RangedIntegerField(
        _l("Household members"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=50, message=_l("Between 1 and 50."))],
        low=1, high=50, message=_l("Between 1 and 50."),
    )
    phone = StringField(
        _l("Phone"),
        validators=[
            Optional(),
            Regexp(r"^\+?[0-9 ]{6,20}$", message=_l("Digits only, with an optional +.")),
        ],
    )
    lat = FloatField(
        _l("Plot latitude"),
        validators=[Optional(), NumberRange(-90, 90, message=_l("Between -90 and 90."))],
    )
    lon = FloatField(
        _l("Plot longitude"),
        validators=[Optional(), NumberRange(-180, 180, message=_l("Between -180 and 180."))],
    )
    plot_name = StringField(_l("Plot name"), validators=[Optional(), Length(max=120)])
    plot_ha = FloatField(_l("Plot (ha)"), validators=HECTARES)
    forest_ha = FloatField(_l("Forest (ha)"), validators=HECTARES)
    coffee_ha = FloatField(_l("Coffee (ha)"), validators=HECTARES)
    data_consent = BooleanField(_l("The family agrees to the use of its data by the program"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    confirm_not_duplicate = BooleanField(
        _l("It is a different family: register it anyway"))

    def __init__(self, *args: Any, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=obj, **kwargs)
        #: The family being edited (its own DNI is not a clash); ``None`` for a new one.
        self.family = obj

    def validate(self, extra_validators: Any = None) -> bool:
        """The form's checks and the program's rules (:func:`form_problems`) together, so every
        error shows on the first submit; a field the form already refused is not checked
        twice.

        The rules that read the database (the DNI of another family) join only when the form is
        refused anyway: a valid form goes on to its idempotency key, and the replay of a form
        already saved (its DNI now "taken" by the family it created) answers as the first time.
        """
        from fieldapp.families.operations import form_problems

        valid = super().validate(extra_validators)
        for stored in (False, True):
            if stored and valid:
                break
            for name, message in form_problems(self.field_data(), self.family,
                                               stored=stored).items():
                field = getattr(self, name, None)
                if field is not None and not field.errors:
                    field.errors = [*field.errors, str(message)]
                    valid = False
        return valid

    def field_data(self) -> dict:
        """The values the operations layer takes (everything but the CSRF token and key)."""
        return {
            name: field.data
            for name, field in self._fields.items()
            if name not in ("csrf_token", "idempotency_key")
        }


class WithdrawalForm(FlaskForm):
    """A family leaving the program: why and when."""

    reason = SelectField(_l("Reason"), choices=[
        SelectChoice(code, text) for code, text in LABELS["withdrawal_reason"].items()
    ], validators=[DataRequired()])
    withdrawn_on = DateField(_l("Date"), validators=[DataRequired()])
