"""Community form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp


class CommunityForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(),
            Length(max=20),
            Regexp(r"^[A-Z0-9-]+$", message=_l("Use capital letters, digits and dashes.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    sector = StringField(_l("Sector"), validators=[Optional(), Length(max=80)])
    district = StringField(_l("District"), validators=[Optional(), Length(max=80)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=80)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
