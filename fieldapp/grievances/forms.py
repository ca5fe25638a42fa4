"""Grievance forms: recording one, and each step of its workflow."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from fieldapp.forms import CreateForm
from fieldapp.grievances.operations import TEXT_MAX
from fieldapp.labels import table


class GrievanceForm(CreateForm):
    """A new grievance; the category, related-record and community choices are set per request."""

    family = HiddenField()
    community = SelectField(_l("Community (for an anonymous grievance)"), choices=[],
                            validate_choice=False)
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    channel = SelectField(_l("How it arrived"), choices=[], validate_choice=False,
                          validators=[DataRequired()])
    category = SelectField(_l("Category"), choices=[], validate_choice=False,
                           validators=[DataRequired()])
    description = TextAreaField(_l("What the complaint is about"),
                                validators=[DataRequired(), Length(max=TEXT_MAX)])
    related = SelectField(_l("Related record"), choices=[], validate_choice=False)
    confidential = BooleanField(_l("Confidential: about a staff member"))
    staff_username = SelectField(_l("Staff member concerned (a user)"), choices=[],
                                 validate_choice=False)
    staff_name = StringField(_l("Staff member concerned (name)"),
                             validators=[Optional(), Length(max=120)])

    def set_choices(self, categories: list[tuple[str, str]], related: list[tuple[str, str]],
                    communities: list[Any], users: list[Any]) -> None:
        """The choices of this request (the catalogue in the user's language, the family's
        records, the communities the user works in, this installation's users)."""
        self.channel.choices = [("", "—")] + [(k, str(v)) for k, v in
                                             table("grievance_channel").items()]
        self.category.choices = [("", "—"), *categories]
        self.related.choices = [("", _l("None")), *related]
        self.community.choices = [("", "—")] + [(str(c.id), c.name) for c in communities]
        self.staff_username.choices = [("", "—")] + [(u.username, u.full_name) for u in users]

    def field_data(self) -> dict[str, Any]:
        """The values the operation takes (the family and community are looked up by the view)."""
        return {"received_on": self.received_on.data, "channel": self.channel.data,
                "category": self.category.data, "description": self.description.data,
                "related": self.related.data, "confidential": self.confidential.data,
                "staff_username": self.staff_username.data, "staff_name": self.staff_name.data}


class StepForm(FlaskForm):
    """One workflow step: which (``action``) and what it needs (a note, an answer, a reviewer)."""

    action = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=TEXT_MAX)])
    answer = TextAreaField(_l("Answer given to the complainant"),
                           validators=[Optional(), Length(max=TEXT_MAX)])
    action_taken = TextAreaField(_l("What was done"), validators=[Optional(),
                                                                  Length(max=TEXT_MAX)])
    assignee = SelectField(_l("Coordinator"), choices=[], validate_choice=False)
