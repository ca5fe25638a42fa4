"""Family list, page, registration and editing."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from fieldapp.audit.subjects import register_subject
from fieldapp.auth.access import (
    check_community_scope,
    in_scope,
    role_required,
    scoped_community_ids,
)
from fieldapp.communities.models import Community
from fieldapp.communities.queries import register_family_counter
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.families import bp
from fieldapp.families.forms import FamilyForm, WithdrawalForm
from fieldapp.families.models import Family
from fieldapp.families.operations import (
    PossibleDuplicate,
    create_family,
    update_family,
    withdraw_family,
)
from fieldapp.families.queries import (
    communities_in_scope,
    count_families,
    family_counts_by_community,
    family_search,
    paginate_families,
)
from fieldapp.families.sections import gather_sections
from fieldapp.forms import page_arg
from fieldapp.idempotency import run_once
from fieldapp.submissions import created, fail_with, parse_uuid, rejected


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """Family counts on the community list; families as subjects of the audit history."""
    register_family_counter(state.app, family_counts_by_community)
    register_subject(state.app, "family", lambda id_: db.session.get(Family, id_))


def _community_choices(form: FamilyForm) -> None:
    form.community_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(c.id), c.name) for c in communities_in_scope()
    ]


def _submitted_community_choice(form: FamilyForm) -> None:
    """Choices for validating a submitted form: the chosen community alone, when it is one the
    full list would offer (active, in the user's scope); the full list is built only to render.

    The same answer as :func:`_community_choices` for the submitted value, without building
    250 choices at ten times the program on every save.
    """
    choices = [SelectChoice("", _("Choose…"))]
    chosen = parse_uuid(request.form.get("community_id"))
    if chosen is not None:
        row = db.session.execute(
            select(Community.id, Community.name)
            .where(Community.id == chosen, Community.voided.is_(False))).first()
        if row is not None and in_scope(row.id):
            choices.append(SelectChoice(str(row.id), row.name))
    form.community_id.choices = choices


@bp.route("/")
def index():
    """Families, searchable by name, code or DNI, filtered by community, paginated."""
    q = request.args.get("q", "").strip()
    if q:  # the code of a merged family finds the family it was merged into
        merged = db.session.execute(select(Family).where(
            Family.code == q.upper(), Family.merged_into_id.is_not(None))).scalar_one_or_none()
        if merged is not None:
            return redirect_tombstone(merged)
    community_id = parse_uuid(request.args.get("community"))
    page = page_arg()
    scope = scoped_community_ids()
    withdrawn = request.args.get("status") == "withdrawn"  # anything else: those in the program
    total = count_families(q, community_id, scope, withdrawn)
    stmt = family_search(q, community_id, scope, withdrawn)
    pagination = paginate_families(stmt, page, current_app.config["PER_PAGE"], total)
    return render_template(
        "families/index.html",
        pagination=pagination,
        q=q,
        withdrawn=withdrawn,
        community_id=community_id,
        communities=communities_in_scope(),
    )


@bp.route("/<uuid:family_id>")
def detail(family_id: uuid.UUID):
    """A family's page: details, agreements, attendance, deliveries and visits."""
    family = db.get_or_404(Family, family_id)
    if family.merged_into_id is not None:
        return redirect_tombstone(family)
    check_community_scope(family.community_id)
    # The other domains' sections, each read by the domain that owns it (see sections.py).
    return render_template("families/detail.html", family=family,
                           sections=gather_sections(family))


def _apply_error(form: FamilyForm, error: ValidationFailed) -> None:
    field = getattr(form, error.details.get("field", ""), None)
    if field is None:
        flash(str(error.message), "error")
    else:
        field.errors = [*field.errors, str(error.message)]


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Register a family (the outbox, sending ``Accept: application/json``, gets JSON back)."""
    form = FamilyForm()
    if request.method == "POST":
        _submitted_community_choice(form)
    else:
        _community_choices(form)

    duplicates: list[dict] = []

    def render() -> str:
        _community_choices(form)
        return render_template("families/form.html", form=form, family=None,
                               duplicates=duplicates)

    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    check_community_scope(parse_uuid(form.community_id.data))
    data = form.field_data()
    try:
        family_id, was_created = run_once(
            form.idempotency_key.data,
            "family.create",
            data,
            lambda: create_family(data),
            current_user.id,
        )
    except ValidationFailed as error:
        if isinstance(error, PossibleDuplicate):
            duplicates.extend(error.details.get("families", []))
        return fail_with(form, render, error)
    return created(family_id, url_for("families.detail", family_id=family_id), was_created,
                   _("Family registered."))


@bp.route("/<uuid:family_id>/edit", methods=["GET", "POST"])
def edit(family_id: uuid.UUID):
    """Change a family's details."""
    family = db.get_or_404(Family, family_id)
    check_community_scope(family.community_id)
    form = FamilyForm(obj=family)
    if request.method == "GET":
        form.community_id.data = str(family.community_id)
    _community_choices(form)
    if form.validate_on_submit():
        check_community_scope(parse_uuid(form.community_id.data))
        try:
            update_family(family, form.field_data())
        except ValidationFailed as error:
            db.session.rollback()
            _apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("families.detail", family_id=family.id))
    status = 422 if form.errors else 200
    return render_template("families/form.html", form=form, family=family), status


@bp.route("/<uuid:family_id>/withdraw", methods=["GET", "POST"])
@role_required("coordinator")
def withdraw(family_id: uuid.UUID):
    """Mark a family as having left the program (its history stays)."""
    family = db.get_or_404(Family, family_id)
    check_community_scope(family.community_id)
    form = WithdrawalForm()
    if form.validate_on_submit():
        try:
            withdraw_family(family, form.reason.data, form.withdrawn_on.data)
        except ValidationFailed as error:
            db.session.rollback()
            _apply_error(form, error)
        else:
            db.session.commit()
            flash(_("The family no longer counts in the program's figures. Its history is kept."),
                  "success")
            return redirect(url_for("families.detail", family_id=family.id))
    status = 422 if form.errors else 200
    return render_template("families/withdraw.html", form=form, family=family), status


def redirect_tombstone(family: Family):
    """The survivor's page for a merged family (its old links and QR cards still work)."""
    hops = 0
    while family.merged_into_id is not None and hops < 10:
        family = db.session.get(Family, family.merged_into_id) or abort(404)
        hops += 1
    return redirect(url_for("families.detail", family_id=family.id))
