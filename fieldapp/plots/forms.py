"""The plot form: name, declared hectares and the boundary (walked, tapped or pasted)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import FloatField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from fieldapp.forms import CreateForm


class PlotForm(CreateForm):
    """A plot of a family; ``boundary`` holds GeoJSON (the tablet's walk fills it)."""

    #: The family (chosen on the page when it opens without one: the tablet, offline).
    family = HiddenField()
    name = StringField(_l("Name of the plot"), validators=[DataRequired(), Length(max=120)])
    declared_ha = FloatField(_l("Declared area (ha)"), validators=[Optional()])
    boundary = TextAreaField(_l("Boundary (GeoJSON polygon, longitude first)"),
                             validators=[Optional(), Length(max=400_000)])
    #: The GPS accuracy of each walked point (JSON list of metres), filled by the walk.
    accuracies = HiddenField(validators=[Optional(), Length(max=100_000)])
    #: ``walk``, ``vertices`` or ``geojson``, set by the page's capture tools.
    method = HiddenField(default="geojson")
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])

    def field_data(self) -> dict[str, Any]:
        """The values the operations take."""
        return {"name": self.name.data or "", "declared_ha": self.declared_ha.data,
                "boundary": (self.boundary.data or "").strip() or None,
                "accuracies": (self.accuracies.data or "").strip() or None,
                "method": self.method.data or "geojson", "notes": self.notes.data}
