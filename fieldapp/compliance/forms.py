"""Compliance visit and sanction decision forms."""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FloatField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from fieldapp.agreements.models import AgreementCommitment
from fieldapp.compliance.rules import FINDING_LABELS
from fieldapp.forms import CreateForm


class VisitForm(CreateForm):
    """A monitoring visit; one result and note per commitment are added per agreement."""

    agreement_id = HiddenField(validators=[DataRequired()])
    visited_on = DateField(_l("Date of the visit"), validators=[DataRequired()])
    monitor_name = StringField(_l("Monitor"), validators=[DataRequired(), Length(max=120)])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])

    commitment_ids: list[uuid.UUID] = []

    def finding_rows(self) -> list[tuple[uuid.UUID, Any, Any]]:
        """(commitment id, result field, note field) per commitment of the agreement."""
        return [(cid, self[f"result_{cid.hex}"], self[f"note_{cid.hex}"])
                for cid in self.commitment_ids]

    def field_data(self) -> dict[str, Any]:
        """The values the operations take."""
        return {
            "visited_on": self.visited_on.data,
            "monitor_name": self.monitor_name.data,
            "lat": self.lat.data,
            "lon": self.lon.data,
            "notes": self.notes.data,
            "findings": {cid: (result.data, note.data) for cid, result, note in
                         self.finding_rows()},
        }


def visit_form_class(commitments: list[AgreementCommitment]) -> type[VisitForm]:
    """A :class:`VisitForm` with a result (met, partly met, breached, not checked) and a note
    for each commitment."""
    attrs: dict[str, Any] = {"commitment_ids": [c.id for c in commitments]}
    for commitment in commitments:
        attrs[f"result_{commitment.id.hex}"] = RadioField(
            choices=[SelectChoice(value, label) for value, label in FINDING_LABELS.items()],
            default="not_checked", validators=[DataRequired()])
        attrs[f"note_{commitment.id.hex}"] = StringField(
            _l("Note"), validators=[Optional(), Length(max=1000)])
    return type("VisitFindingsForm", (VisitForm,), attrs)


class DecisionForm(FlaskForm):
    """A coordinator's decision on a proposed sanction."""

    decision = HiddenField(validators=[DataRequired()])
    notes = TextAreaField(_l("Notes on the decision"), validators=[Optional(), Length(max=1000)])
