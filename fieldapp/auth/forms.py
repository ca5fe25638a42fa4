"""Login and user administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

ROLE_CHOICES = [
    SelectChoice("field_staff", _l("Field staff")),
    SelectChoice("coordinator", _l("Coordinator")),
    SelectChoice("admin", _l("Administrator")),
]


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this tablet"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(),
                    Length(min=8, max=200, message=_l("At least 8 characters."))],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class UserForm(FlaskForm):
    username = StringField(
        _l("User name"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[a-z0-9._-]+$", message=_l("Use lower-case letters, digits, dots, dashes.")),
        ],
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    communities = SelectMultipleField(_l("Communities"), choices=[], validate_choice=True)
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=8, max=200, message=_l("At least 8 characters."))],
    )
    active = BooleanField(_l("Active"), default=True)
