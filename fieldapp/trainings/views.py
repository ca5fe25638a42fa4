"""Training sessions: list, create, and take attendance by ticking the community's families."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldapp.auth.access import check_community_scope, scoped_community_ids
from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.families.queries import communities_in_scope
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.forms import page_arg
from fieldapp.idempotency import run_once
from fieldapp.submissions import created, fail_with, local_today, parse_uuid, rejected
from fieldapp.trainings import bp
from fieldapp.trainings.forms import AttendanceForm, SessionForm
from fieldapp.trainings.models import TrainingSession
from fieldapp.trainings.operations import create_session, save_attendance
from fieldapp.trainings.queries import (
    attendance_sheet,
    family_attendance,
    present_counts,
    session_list,
)


def _family_section(page: FamilyPage) -> Any:
    """The family page's attendance section: rate and the latest sessions attended."""
    return family_attendance(page.family)


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    register_section(state.app, "attendance", _family_section, "trainings/_family_section.html",
                     20, title=_l("Training attendance"))


@bp.route("/")
def index():
    """Training sessions, newest first, filtered by community."""
    community_id = parse_uuid(request.args.get("community"))
    page = page_arg()
    pagination = db.paginate(session_list(community_id, scoped_community_ids()), page=page,
                             per_page=current_app.config["PER_PAGE"], error_out=False)
    counts = present_counts([s.id for s in pagination.items])
    return render_template("trainings/index.html", pagination=pagination, counts=counts,
                           communities=communities_in_scope(), community_id=community_id)


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Create a training session; attendance is taken on its page."""
    form = SessionForm()
    form.community_id.choices = [("", _("Choose…"))] + [(str(c.id), c.name)
                                                          for c in communities_in_scope()]
    if request.method == "GET":
        form.held_on.data = local_today()
        form.trainer_name.data = current_user.full_name
        if request.args.get("community"):
            form.community_id.data = request.args["community"]

    def render() -> str:
        return render_template("trainings/form.html", form=form)

    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    check_community_scope(parse_uuid(form.community_id.data))
    data = {name: f.data for name, f in form._fields.items()
            if name not in ("csrf_token", "idempotency_key")}
    try:
        session_id, was_created = run_once(
            form.idempotency_key.data, "training.create", data,
            lambda: create_session(data, current_user.id), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    return created(session_id, url_for("trainings.detail", session_id=session_id), was_created,
                   _("Session saved. Now tick the families that came."))


def _session_or_404(session_id: uuid.UUID) -> TrainingSession:
    session = db.session.get(TrainingSession, session_id)
    if session is None or session.voided:
        abort(404)
    check_community_scope(session.community_id)
    return session


@bp.route("/<uuid:session_id>", methods=["GET"])
def detail(session_id: uuid.UUID):
    """A session and its attendance sheet."""
    session = _session_or_404(session_id)
    rows = attendance_sheet(session)
    return render_template("trainings/detail.html", session=session, rows=rows,
                           shown=[r.family.id for r in rows if r.present], form=AttendanceForm(),
                           today=local_today())


def _ticked() -> tuple[dict[uuid.UUID, str | None], set[uuid.UUID]]:
    present: dict[uuid.UUID, str | None] = {}
    for raw in request.form.getlist("family"):
        family_id = parse_uuid(raw)
        if family_id is None:
            abort(400)
        present[family_id] = request.form.get(f"name-{family_id}") or None
    shown = set()
    for raw in ",".join(request.form.getlist("shown")).split(","):
        if raw.strip():
            family_id = parse_uuid(raw.strip())
            if family_id is None:
                abort(400)
            shown.add(family_id)
    return present, shown


@bp.route("/<uuid:session_id>/attendance", methods=["POST"])
def attendance(session_id: uuid.UUID):
    """Save the attendance: ticked families are present, unticked ones (that were shown ticked)
    are removed."""
    session = _session_or_404(session_id)
    form = AttendanceForm()
    present, shown = _ticked()

    def render() -> str:
        rows = attendance_sheet(session)
        for row in rows:  # show what was ticked and typed, not what is stored
            row.present = row.family.id in present
            row.attendee_name = present.get(row.family.id)
        return render_template("trainings/detail.html", session=session, rows=rows,
                               shown=sorted(shown), form=form, today=local_today())

    if not form.validate_on_submit():
        return rejected(form, render)
    payload = {"session": str(session.id),
               "present": {str(k): v for k, v in sorted(present.items())},
               "shown": sorted(str(s) for s in shown)}
    try:
        _id, was_created = run_once(
            form.idempotency_key.data, "attendance.save", payload,
            lambda: save_attendance(session, present, shown), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    # The URL's id, not ``session.id``: the commit expired the session (a reload to read it).
    return created(session_id, url_for("trainings.detail", session_id=session_id), was_created,
                   _("Attendance saved: %(n)s families.", n=len(present)))
