"""Grievances: record one, the list and worklist, a grievance with its workflow, the slip, the
figures; the public status page its slip's QR leads to."""

from __future__ import annotations

import uuid
from datetime import date

from flask import (
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from fieldapp.auth.access import central_only, public, role_required
from fieldapp.auth.models import User
from fieldapp.communities.models import Community
from fieldapp.errors import AppError, BadParameter, NotFound, ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.families.queries import communities_in_scope, family_or_404
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.forms import page_arg
from fieldapp.grievances import bp, status_bp
from fieldapp.grievances.access import check_may_see, may_see, recorded_by_user
from fieldapp.grievances.catalogue import categories, category_label
from fieldapp.grievances.forms import GrievanceForm, StepForm
from fieldapp.grievances.models import Grievance
from fieldapp.grievances.operations import (
    acknowledge_grievance,
    answer_grievance,
    appeal_grievance,
    assign_grievance,
    close_grievance,
    days_to_answer,
    delete_grievance,
    record_grievance,
    reviewer_choices,
    withdraw_grievance,
)
from fieldapp.grievances.queries import (
    VIEWS,
    family_grievances,
    figures,
    grievance_list,
    load_grievance,
    locale_name,
    related_choices,
    related_name,
)
from fieldapp.grievances.rules import TRANSITIONS, is_overdue
from fieldapp.idempotency import run_once
from fieldapp.ratelimit import hit, too_many
from fieldapp.submissions import created, fail_with, local_today, parse_uuid, rejected


@bp.app_template_global()
def grievance_category(code: str) -> str:
    """A grievance category in the user's language."""
    return category_label(code)


@bp.app_template_global()
def grievance_overdue(grievance: Grievance) -> bool:
    """Whether a grievance's current step is past its due day."""
    return is_overdue(grievance.status, grievance.due_on, local_today())


def _family_section(page: FamilyPage) -> list[Grievance]:
    """The family page's grievance section: the family's grievances the user may see."""
    return family_grievances(page.family.id)


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The grievance section of the family page."""
    register_section(state.app, "grievances", _family_section, "grievances/_family_section.html",
                     50, title=_l("Grievances"))


@bp.route("/")
def index():
    """Grievances: the open ones (overdue first), the overdue, the ones I hold, or all."""
    view = request.args.get("view", "open")
    if view not in VIEWS:
        view = "open"
    community_id = parse_uuid(request.args.get("community"))
    today = local_today()
    pagination = db.paginate(grievance_list(view, today, current_user.username, community_id),
                             page=page_arg(), per_page=current_app.config["PER_PAGE"],
                             error_out=False)
    return render_template("grievances/index.html", pagination=pagination, view=view,
                           communities=communities_in_scope(), community_id=community_id,
                           today=today)


def _category_choices() -> list[tuple[str, str]]:
    english = locale_name().startswith("en")
    return [(code, words[1] if english else words[0]) for code, words in categories().items()]


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Record a grievance received from a family (``?family=``) or anonymously."""
    raw_family = request.values.get("family")
    unknown_family = False
    try:
        family = family_or_404(parse_uuid(raw_family)) if raw_family else None
    except NotFound:
        if request.method != "POST":
            raise
        # Chosen on the tablet (the form's family picker): answered next to the field.
        family, unknown_family = None, True
    form = GrievanceForm()
    users = db.session.execute(select(User).where(User.active.is_(True))
                               .order_by(User.full_name)).scalars().all()
    form.set_choices(_category_choices(), related_choices(family), communities_in_scope(),
                     users)
    if request.method == "GET":
        form.received_on.data = local_today()
        form.family.data = str(family.id) if family else ""

    def render() -> str:
        return render_template("grievances/form.html", form=form, family=family)

    if request.method == "POST" and unknown_family:
        form.validate_on_submit()
        return fail_with(form, render, ValidationFailed(_("Choose the family."), field="family"))
    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    data = {**form.field_data(), "family": family}
    if family is None:
        community_id = parse_uuid(form.community.data)
        data["community"] = db.session.get(Community, community_id) if community_id else None
    payload = {**{k: v for k, v in data.items() if k not in ("family", "community")},
               "received_on": str(form.received_on.data), "family": str(family.id) if family
               else None, "community": form.community.data if family is None else None}
    try:
        grievance_id, was_created = run_once(
            form.idempotency_key.data, "grievance.create", payload,
            lambda: record_grievance(data, current_user), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    grievance = db.session.get(Grievance, grievance_id)
    if grievance is not None and not may_see(grievance):
        # Confidential, recorded by someone who may not follow it: its code and slip only.
        return created(grievance_id, url_for("grievances.recorded", grievance_id=grievance_id),
                       was_created, _("Grievance recorded. Print the slip for the family."))
    return created(grievance_id, url_for("grievances.detail", grievance_id=grievance_id),
                   was_created, _("Grievance recorded. Print the slip for the family."))


@bp.route("/<uuid:grievance_id>/recorded")
def recorded(grievance_id: uuid.UUID):
    """A confidential grievance just recorded by someone who may not follow it: its code and
    the family's slip, nothing else."""
    grievance = load_grievance(grievance_id)
    if grievance is None or not recorded_by_user(grievance):
        raise NotFound()
    return render_template("grievances/recorded.html", grievance=grievance)


def _grievance(grievance_id: uuid.UUID) -> Grievance:
    return check_may_see(load_grievance(grievance_id))


@bp.route("/<uuid:grievance_id>")
def detail(grievance_id: uuid.UUID):
    """A grievance: what it is about, its due days, its history and the next steps."""
    grievance = _grievance(grievance_id)
    form = StepForm()
    form.assignee.choices = [("", "—")] + [(u.username, u.full_name)
                                          for u in reviewer_choices(grievance)]
    return render_template(
        "grievances/detail.html", grievance=grievance, form=form,
        next_steps=TRANSITIONS.get(grievance.status, frozenset()),
        related=related_name(grievance), days=days_to_answer(grievance),
        overdue=is_overdue(grievance.status, grievance.due_on, local_today()),
        is_coordinator=current_user.has_role("coordinator"),
        role=current_app.config["ROLE"])


#: The workflow's actions, by the name the detail page's buttons send.
ACTIONS = ("acknowledge", "assign", "answer", "appeal", "close", "withdraw")


def _take_step(grievance: Grievance, action: str, form: StepForm) -> None:
    user = current_user._get_current_object()
    if action == "acknowledge":
        acknowledge_grievance(grievance, user, form.note.data)
    elif action == "assign":
        assign_grievance(grievance, user, form.assignee.data, form.note.data)
    elif action == "answer":
        answer_grievance(grievance, user, form.answer.data, form.action_taken.data)
    elif action == "appeal":
        appeal_grievance(grievance, user, form.assignee.data, form.note.data)
    elif action == "close":
        close_grievance(grievance, user, form.note.data)
    else:
        withdraw_grievance(grievance, user, form.note.data)


@bp.route("/<uuid:grievance_id>/step", methods=["POST"])
def step(grievance_id: uuid.UUID):
    """Take one step of a grievance's workflow (acknowledge, assign, answer, appeal, close,
    withdraw)."""
    grievance = _grievance(grievance_id)
    form = StepForm()
    action = request.form.get("action", "")
    if not form.validate_on_submit() or action not in ACTIONS:
        raise ValidationFailed(_("Choose a step of the list."), field="action")
    try:
        _take_step(grievance, action, form)
    except AppError as error:
        db.session.rollback()
        if wants_json():
            raise
        flash(str(error.message), "error")
        return redirect(url_for("grievances.detail", grievance_id=grievance_id)), 303
    db.session.commit()
    if wants_json():
        return {"id": str(grievance.id), "status": grievance.status}
    flash(_("Grievance %(status)s.", status=_status_word(grievance.status)), "success")
    return redirect(url_for("grievances.detail", grievance_id=grievance_id))


def _status_word(status: str) -> str:
    from fieldapp.labels import label

    return label("grievance_status", status)


@bp.route("/<uuid:grievance_id>/delete", methods=["POST", "DELETE"])
@bp.route("/<uuid:grievance_id>", methods=["DELETE"])
def delete(grievance_id: uuid.UUID):
    """Refused: a grievance is never deleted (withdrawn or closed with a reason instead)."""
    delete_grievance(_grievance(grievance_id))


@bp.route("/summary")
@role_required("coordinator")
def summary():
    """Grievance figures: received, answered in time, overdue, median days to answer, by
    category and community."""
    today = local_today()
    date_from, date_to = _day_arg("from"), _day_arg("to")
    return render_template("grievances/summary.html", today=today, date_from=date_from,
                           date_to=date_to, figures=figures(today, date_from, date_to))


def _day_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise BadParameter(_l("“%(name)s” must be a date (YYYY-MM-DD).", name=name),
                           field=name) from None


@status_bp.route("/<token>")
@public
@central_only
def status(token: str):
    """Public: a grievance's status and dates, nothing else (its slip's QR leads here)."""
    config = current_app.config
    limit = int(config["GRIEVANCE_STATUS_RATE_LIMIT"])
    window = int(config["GRIEVANCE_STATUS_RATE_WINDOW"])
    allowed = hit(f"grievance-status:{request.remote_addr or '-'}", limit, window,
                  durable=False)
    db.session.commit()
    if not allowed:
        return too_many(window)
    grievance = None
    if len(token) == 32 and all(c in "0123456789abcdef" for c in token):
        grievance = db.session.execute(select(Grievance).where(
            Grievance.status_token == token, Grievance.voided.is_(False))).scalar_one_or_none()
    if grievance is None:
        if wants_json():
            raise NotFound()
        response = make_response(render_template("grievances/status.html", grievance=None), 404)
    elif wants_json():
        response = jsonify(status={
            "code": grievance.code, "status": grievance.status,
            "received_on": grievance.received_on.isoformat(),
            "answer_due_on": grievance.answer_due_on.isoformat(),
            "due_on": grievance.due_on.isoformat() if grievance.due_on else None})
    else:
        response = make_response(render_template("grievances/status.html", grievance=grievance))
    response.headers["Cache-Control"] = "no-store"
    return response
