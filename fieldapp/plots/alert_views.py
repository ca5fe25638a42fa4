"""Alerts: the coordinator's upload on central, the alerts to verify and their figures, and the
answer a compliance visit gives to one."""

from __future__ import annotations

import uuid
from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldapp.auth.access import (
    central_only,
    check_community_scope,
    role_required,
    scoped_community_ids,
)
from fieldapp.errors import AppError, NotFound, ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.forms import page_arg
from fieldapp.plots import bp
from fieldapp.plots.alerts import import_alerts
from fieldapp.plots.models import AlertCheck
from fieldapp.plots.queries import alert_checks, alert_figures, answerable_visits
from fieldapp.plots.svg import draw, rings_of
from fieldapp.submissions import created, local_today

ANSWER_LABELS = {"confirmed": _l("Clearing confirmed"), "false_alarm": _l("False alarm"),
                 "outside": _l("Clearing outside the plot")}


@bp.app_template_global()
def alert_answer_label(answer: str | None) -> str:
    """How a visit answered an alert, in the user's language."""
    return str(ANSWER_LABELS.get(answer or "", answer or ""))


@bp.route("/alerts/import", methods=["GET", "POST"])
@central_only
@role_required("coordinator")
def import_alert_file():
    """Upload a deforestation alert file (GeoJSON or CSV) and match it to the plots."""
    if request.method == "GET":
        return render_template("plots/alert_import.html", buffer=current_app.config[
            "ALERT_BUFFER_M"])
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a file."), "error")
        return render_template("plots/alert_import.html",
                               buffer=current_app.config["ALERT_BUFFER_M"]), 422
    try:
        buffer = float(request.form.get("buffer") or current_app.config["ALERT_BUFFER_M"])
        if not 0 <= buffer <= 5000:
            raise ValueError
    except ValueError:
        flash(_("The buffer is a number of metres between 0 and 5,000."), "error")
        return render_template("plots/alert_import.html", buffer=request.form.get("buffer")), 422
    try:
        report = import_alerts(file.read(), file.filename, request.form.get("source"), buffer)
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        return render_template("plots/alert_import.html", refused=str(error.message),
                               buffer=buffer), error.status
    flash(_("%(read)s alerts read: %(new)s new, %(known)s already imported, %(repeated)s "
            "repeated in the file; %(checks)s alerts to verify on plots under agreement.",
            read=report.read, new=report.new, known=report.known, repeated=report.repeated,
            checks=report.checks), "success")
    return redirect(url_for("plots.alerts"))


@bp.route("/alerts/")
def alerts():
    """Alerts to verify in my communities (open ones first), with the alert figures."""
    status = request.args.get("status", "open")
    if status not in ("open", "answered", "all"):
        status = "open"
    scope = scoped_community_ids()
    pagination = db.paginate(alert_checks(scope, None if status == "all" else status),
                             page=page_arg(), per_page=current_app.config["PER_PAGE"],
                             error_out=False)
    return render_template("plots/alerts.html", pagination=pagination, status=status,
                           figures=alert_figures(scope))


def _check_or_404(check_id: uuid.UUID) -> AlertCheck:
    check = db.session.get(AlertCheck, check_id)
    if check is None or check.voided:
        raise NotFound()
    check_community_scope(check.community_id)
    return check


@bp.route("/alerts/<uuid:check_id>", methods=["GET", "POST"])
def alert(check_id: uuid.UUID):
    """An alert to verify: where it fell on the plot, and the visit's answer."""
    from fieldapp.plots.alerts import answer_alert

    check = _check_or_404(check_id)
    visits = answerable_visits(check)
    today = local_today()
    status = 200
    error_field = error_text = None
    if request.method == "POST":
        raw = request.form.get("cleared_ha", "").strip().replace(",", ".")
        try:
            cleared = float(raw) if raw else None
            try:
                day = date.fromisoformat(request.form.get("visited_on", "").strip())
            except ValueError:
                day = None
            answer_alert(check, {"answer": request.form.get("answer"), "cleared_ha": cleared,
                                 "visited_on": day}, current_user)
            db.session.commit()
        except ValueError:
            db.session.rollback()
            status, error_field = 422, "cleared_ha"
            error_text = _("A confirmed clearing needs its area: hectares more than 0.")
        except ValidationFailed as error:
            db.session.rollback()
            status, error_field = error.status, error.details.get("field")
            error_text = str(error.message)
        else:
            return created(check.id, url_for("plots.alert", check_id=check.id), True,
                           _("Answer saved."))
        check = _check_or_404(check_id)
        if wants_json():  # as the tablet's outbox reads a refusal (fieldapp/submissions.py)
            return {"error": {"code": "invalid", "message": error_text,
                              "details": {"fields": {error_field: error_text}}}}, status
    drawing = draw([(rings_of(check.plot.boundary), "plot", check.plot.name, "")],
                   [(check.lon, check.lat, "alert-open")], width=480, height=360)
    return render_template("plots/alert.html", check=check, visits=visits, drawing=drawing,
                           error_field=error_field, error_text=error_text,
                           form=request.form, today=today), status
