"""Recording plots and their boundaries. The rules are checked here (and by central on what a
node pushes, through the same functions), not only in forms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.plots.geometry import Boundary, check_boundary, differs
from fieldapp.plots.models import CAPTURE_METHODS, Plot, PlotBoundary

#: The largest plot a family may declare (hectares).
MAX_DECLARED_HA = 10_000.0


def area_tolerance() -> float:
    """PLOT_AREA_TOLERANCE, or its default outside an app."""
    try:
        return float(current_app.config.get("PLOT_AREA_TOLERANCE", 0.3))
    except RuntimeError:
        return 0.3


def check_plot_values(data: Mapping[str, Any]) -> Boundary | None:
    """The rules on a plot's own values: a name, declared hectares in range, a method of the
    list, and a boundary that passes :func:`~fieldapp.plots.geometry.check_boundary`.

    :returns: the checked boundary (``None`` when the plot has none yet).
    :raises ValidationFailed: ``field`` names the offending field.
    """
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(_l("Give the plot a name."), field="name")
    if len(name) > 120:
        raise ValidationFailed(_l("At most 120 characters."), field="name")
    declared = data.get("declared_ha")
    if declared is not None:
        if isinstance(declared, bool) or not isinstance(declared, int | float) \
                or not math.isfinite(declared) or not 0 <= declared <= MAX_DECLARED_HA:
            raise ValidationFailed(_l("Hectares between 0 and %(max)s.",
                                      max=int(MAX_DECLARED_HA)), field="declared_ha")
    boundary = data.get("boundary")
    if boundary in (None, "", {}):
        return None
    method = data.get("method") or "geojson"
    if method not in CAPTURE_METHODS:
        raise ValidationFailed(_l("Unknown way of capturing the boundary."), field="method")
    return check_boundary(boundary, data.get("accuracies"))


def _apply_boundary(plot: Plot, checked: Boundary, method: str, username: str | None) -> None:
    plot.boundary = checked.geojson
    plot.accuracies = checked.accuracies
    plot.area_ha = checked.area_ha
    plot.method = method
    plot.repair_note = " ".join(checked.repairs) or None
    plot.boundary_version = (plot.boundary_version or 0) + 1
    db.session.add(PlotBoundary(
        plot=plot, number=plot.boundary_version, boundary=checked.geojson,
        accuracies=checked.accuracies, area_ha=checked.area_ha, method=method,
        recorded_by=username, repair_note=plot.repair_note))


def _review(plot: Plot) -> None:
    plot.area_review = differs(plot.area_ha, plot.declared_ha, area_tolerance())


def create_plot(family: Family, data: Mapping[str, Any], user: Any = None) -> Plot:
    """Record a plot of ``family`` (with its boundary when one is given).

    :param data: ``name``, ``declared_ha``, ``boundary`` (GeoJSON or a list of points),
        ``accuracies``, ``method``, ``notes``.
    :raises ValidationFailed: a value breaks a rule (the boundary's message says which).
    :raises OutOfScope: the family is in a community the user does not work in.
    """
    check_write_scope(family.community_id)
    checked = check_plot_values(data)
    plot = Plot(family=family, family_id=family.id, name=data["name"].strip(),
                declared_ha=data.get("declared_ha"), notes=data.get("notes") or None)
    db.session.add(plot)
    if checked is not None:
        _apply_boundary(plot, checked, data.get("method") or "geojson",
                        getattr(user, "username", None))
    _review(plot)
    db.session.flush()
    record("create", plot, family_id=family.id)
    return plot


def update_plot(plot: Plot, data: Mapping[str, Any], user: Any = None) -> Plot:
    """Change a plot; a new boundary becomes a new version (the one before is kept).

    :param data: as :func:`create_plot`; an empty ``boundary`` keeps the current one.
    :raises ValidationFailed: a value breaks a rule.
    :raises OutOfScope: the family is in a community the user does not work in.
    """
    check_write_scope(plot.family.community_id)
    checked = check_plot_values(data)
    before = snapshot(plot)
    plot.name = data["name"].strip()
    plot.declared_ha = data.get("declared_ha")
    plot.notes = data.get("notes") or None
    if checked is not None and checked.geojson != plot.boundary:
        _apply_boundary(plot, checked, data.get("method") or "geojson",
                        getattr(user, "username", None))
    _review(plot)
    record("update", plot, before=before, family_id=plot.family_id)
    return plot


def void_plot(plot: Plot) -> None:
    """Remove a plot recorded by mistake (voided: its history stays)."""
    check_write_scope(plot.family.community_id)
    before = snapshot(plot)
    plot.voided = True
    record("void", plot, before=before, family_id=plot.family_id)
