"""Family registration form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, FloatField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from fieldapp.forms import CreateForm, RangedIntegerField

HECTARES = [Optional(), NumberRange(min=0, max=10000, message=_l("Between 0 and 10,000 ha."))]


class FamilyForm(CreateForm):
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
        SelectChoice("moved_away", _l("Moved away")),
        SelectChoice("deceased", _l("Deceased")),
        SelectChoice("consent_withdrawn", _l("Withdrew consent")),
        SelectChoice("other", _l("Other")),
    ], validators=[DataRequired()])
    withdrawn_on = DateField(_l("Date"), validators=[DataRequired()])
