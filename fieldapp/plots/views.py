"""Plots: record one for a family (its boundary walked, tapped or pasted), see it with its
boundary history, change it."""

from __future__ import annotations

import uuid

from flask import Response, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldapp.auth.access import scoped_community_ids
from fieldapp.errors import AppError, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.queries import communities_in_scope, family_or_404
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.idempotency import run_once
from fieldapp.plots import bp
from fieldapp.plots.forms import PlotForm
from fieldapp.plots.operations import create_plot, update_plot
from fieldapp.plots.queries import boundary_history, family_plots, plot_or_404, plots_in
from fieldapp.plots.svg import draw, rings_of
from fieldapp.submissions import created, fail_with, parse_uuid, rejected


def _family_section(page: FamilyPage) -> list:
    """The family page's plot section: its plots with their areas and review flags."""
    return family_plots(page.family.id)


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The plot section of the family page."""
    register_section(state.app, "plots", _family_section, "plots/_family_section.html", 35,
                     title=_l("Plots"))


def _walk_accuracy() -> int:
    from flask import current_app

    return int(current_app.config["PLOT_WALK_ACCURACY_M"])


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Record a plot of a family: name, declared hectares, boundary (walked, tapped, pasted).

    Without ``?family=`` the form chooses the family itself: the tablet's stored copy of this
    page, offline, picks it from the families stored on the tablet.
    """
    raw_family = request.values.get("family")
    family = family_or_404(parse_uuid(raw_family)) if raw_family else None
    form = PlotForm()
    if request.method == "GET" and family is not None:
        form.family.data = str(family.id)

    def render() -> str:
        return render_template("plots/form.html", form=form, family=family, plot=None,
                               walk_accuracy=_walk_accuracy())

    if request.method == "POST" and family is None:
        form.validate_on_submit()
        return fail_with(form, render, ValidationFailed(_("Choose the family."),
                                                        field="family"))
    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    assert family is not None
    data = form.field_data()
    try:
        plot_id, was_created = run_once(
            form.idempotency_key.data, "plot.create", {**data, "family": str(family.id)},
            lambda: create_plot(family, data, current_user), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    return created(plot_id, url_for("plots.detail", plot_id=plot_id), was_created,
                   _("Plot saved."))


@bp.route("/<uuid:plot_id>")
def detail(plot_id: uuid.UUID):
    """A plot: its boundary drawn, measured and declared areas, and every boundary it had."""
    plot = plot_or_404(plot_id)
    drawing = draw([(rings_of(plot.boundary), "plot", plot.name, "")], width=480, height=360)
    return render_template("plots/detail.html", plot=plot, drawing=drawing,
                           history=boundary_history(plot.id))


@bp.route("/<uuid:plot_id>/edit", methods=["GET", "POST"])
def edit(plot_id: uuid.UUID):
    """Change a plot; a new boundary is kept as a new version, the old one stays."""
    plot = plot_or_404(plot_id)
    form = PlotForm(obj=plot if request.method == "GET" else None)
    if request.method == "GET":  # an empty boundary keeps the current one
        form.family.data = str(plot.family_id)
        form.boundary.data = form.accuracies.data = ""
        form.method.data = "geojson"

    def render() -> str:
        return render_template("plots/form.html", form=form, family=plot.family, plot=plot,
                               walk_accuracy=_walk_accuracy())

    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    try:
        update_plot(plot, form.field_data(), current_user)
        db.session.commit()
    except AppError as error:
        return fail_with(form, render, error)
    return created(plot.id, url_for("plots.detail", plot_id=plot.id), True, _("Plot saved."))


@bp.route("/export.<any(geojson, kml):format>")
def export(format: str):  # noqa: A002 - the URL's name for it
    """The plots of my communities as GeoJSON (GIS) or KML (Google Earth)."""
    from fieldapp.communities.models import Community
    from fieldapp.plots.export import to_geojson, to_kml

    names = dict(db.session.execute(db.select(Community.id, Community.name)).all())
    rows = [(plot, family, names.get(family.community_id, ""))
            for plot, family in plots_in(scoped_community_ids())]
    if format == "geojson":
        body, mimetype = to_geojson(rows), "application/geo+json"
    else:
        body, mimetype = to_kml(rows, _("Plots")), "application/vnd.google-earth.kml+xml"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=plots.{format}"
    return response


@bp.route("/map")
def plot_map():
    """The plots of my communities drawn without tiles: coloured by agreement, outlined by
    alerts, with a scale bar and a north arrow (stored on the tablet for offline work)."""
    from fieldapp.plots.queries import map_items

    community_id = parse_uuid(request.args.get("community"))
    scope = scoped_community_ids()
    if community_id is not None:
        if scope is not None and community_id not in scope:
            community_id = None
        else:
            scope = [community_id]
    items, alerts = map_items(scope)
    drawing = draw([(rings_of(plot.boundary), f"state-{state} alert-{alert or 'none'}",
                     f"{family.code} · {plot.name}", url_for("plots.detail", plot_id=plot.id))
                    for plot, family, state, alert in items],
                   [(lon, lat, "alert-open") for lon, lat in alerts], width=800, height=600)
    return render_template("plots/map.html", drawing=drawing, count=len(items),
                           communities=communities_in_scope(), community_id=community_id)
