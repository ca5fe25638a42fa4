"""Forms of the node and conflict screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class NodeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    code = StringField(
        _l("Node code"),
        validators=[DataRequired(), Regexp(r"^[A-Za-z0-9]{2,8}$",
                                           message=_l("2 to 8 capital letters or digits."))],
    )
    communities = SelectMultipleField(_l("Communities it serves"), choices=[],
                                      validate_choice=True)
    all_communities = BooleanField(_l("Serves every community (may create communities)"))


class ResolveForm(FlaskForm):
    choice = RadioField(_l("Decision"), choices=[], validators=[DataRequired()])
    value = StringField(_l("Combined value"), validators=[Optional(), Length(max=2000)])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (buttons that change state)."""
