"""The admin's form for a new API token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from fieldapp.api.operations import MAX_DAYS


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Who uses it, for what"), validators=[DataRequired(), Length(max=120)])
    datasets = SelectMultipleField(_l("Datasets"), choices=[], validate_choice=True,
                                   validators=[DataRequired()])
    communities = SelectMultipleField(_l("Communities"), choices=[], validate_choice=True)
    personal_data = BooleanField(_l("Personal data (DNI, phone, GPS)"))
    days = IntegerField(_l("Valid for (days)"), default=90,
                        validators=[DataRequired(), NumberRange(min=1, max=MAX_DAYS)])
