"""Training session and attendance forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from fieldapp.forms import CreateForm


class SessionForm(CreateForm):
    """A training session held in a community."""

    held_on = DateField(_l("Date"), validators=[DataRequired()])
    topic = StringField(_l("Topic"), validators=[DataRequired(), Length(max=200)])
    community_id = SelectField(_l("Community"), choices=[], validators=[DataRequired()])
    trainer_name = StringField(_l("Trainer"), validators=[DataRequired(), Length(max=120)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=120)])
    duration_hours = DecimalField(
        _l("Duration (hours)"), places=1, default=2,
        validators=[DataRequired(),
                    NumberRange(min=0.5, max=24, message=_l("Between 0.5 and 24."))],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class AttendanceForm(CreateForm):
    """Attendance of a session: the ticked families (``family``) and optional attendee names
    (``name-<family id>``) are read from the request; ``shown`` lists the families that were
    ticked when the form was shown, so unticking one removes only what the user saw.
    """
