"""Compliance visits (field staff) and the sanctions coordinators confirm or dismiss."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from fieldapp.agreements.models import Agreement
from fieldapp.agreements.sections import AgreementPage
from fieldapp.agreements.sections import register_section as register_agreement_section
from fieldapp.audit.subjects import register_related
from fieldapp.auth.access import check_community_scope, role_required, scoped_community_ids
from fieldapp.compliance import bp
from fieldapp.compliance.forms import DecisionForm, visit_form_class
from fieldapp.compliance.models import ComplianceVisit, Sanction
from fieldapp.compliance.operations import (
    VISITABLE,
    agreement_commitments,
    confirm_sanction,
    dismiss_sanction,
    record_visit,
    visit_agreement,
)
from fieldapp.compliance.queries import (
    agreement_sanctions,
    family_compliance,
    finding_counts,
    load_visit,
    sanction_queue,
    visit_list,
)
from fieldapp.compliance.rules import FINDING_LABELS, LEVEL_LABELS, SANCTION_STATUS_LABELS
from fieldapp.errors import AppError, ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.families.listing import list_filter_args
from fieldapp.families.queries import communities_in_scope, family_or_404
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.forms import page_arg
from fieldapp.idempotency import run_once
from fieldapp.sections import RecordPage, gather_sections
from fieldapp.submissions import created, fail_with, local_today, parse_uuid, rejected


@bp.app_template_global()
def sanction_level_label(level: str) -> str:
    """A sanction level in the user's language."""
    return str(LEVEL_LABELS.get(level, level))


@bp.app_template_global()
def sanction_status_label(status: str) -> str:
    """A sanction's status in the user's language."""
    return str(SANCTION_STATUS_LABELS.get(status, status))


@bp.app_template_global()
def finding_label(result: str) -> str:
    """A visit's result for a commitment in the user's language."""
    return str(FINDING_LABELS.get(result, result))


def _family_section(page: FamilyPage) -> dict:
    """The family page's visit section: latest visits with their results, and sanctions."""
    return family_compliance(page.family)


def _agreement_section(page: AgreementPage) -> list[Sanction] | None:
    """The agreement page's sanction section: the sanctions proposed for it, newest first (no
    card when there are none)."""
    return agreement_sanctions(page.agreement.id) or None


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The visit section of the family page and the sanction section of the agreement page;
    visits and sanctions in an agreement's audit history."""
    register_section(state.app, "visits", _family_section, "compliance/_family_section.html",
                     40, title=_l("Compliance visits"))
    register_agreement_section(state.app, "sanctions", _agreement_section,
                               "compliance/_agreement_section.html", 60, title=_l("Sanctions"))
    register_related(state.app, "agreement", "visits", lambda id_: select(ComplianceVisit.id)
                     .where(ComplianceVisit.agreement_id == id_))
    register_related(state.app, "agreement", "sanctions",
                     lambda id_: select(Sanction.id).where(Sanction.agreement_id == id_))


def _locale() -> str:
    return str(get_locale() or "es")


@bp.route("/visits/")
def visits():
    """Compliance visits of a family or a community, newest first."""
    chosen = list_filter_args()
    page = page_arg()
    pagination = db.paginate(visit_list(chosen.family_id, chosen.community_id,
                                        scoped_community_ids()),
                             page=page, per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template(
        "compliance/visits.html", pagination=pagination, family=chosen.family,
        community=chosen.community,
        communities=communities_in_scope(),
        counts=finding_counts([v.id for v in pagination.items]),
    )


@bp.route("/visits/new", methods=["GET", "POST"])
def create_visit():
    """Record a visit: a result per commitment of the family's agreement, notes and GPS.

    Without ``?family=`` the form chooses the family itself: the tablet's stored copy of this
    page, offline, takes the family's agreement and commitments from the data stored on it.
    """
    raw_family = request.values.get("family")
    family = family_or_404(parse_uuid(raw_family)) if raw_family else None
    posted = parse_uuid(request.form.get("agreement_id")) if request.method == "POST" else None
    agreement = (db.session.get(Agreement, posted) if posted
                 else visit_agreement(family.id) if family else None)
    if agreement is not None and (family is None or agreement.family_id != family.id):
        abort(400)
    commitments = agreement_commitments(agreement.id) if agreement else []
    form = visit_form_class(commitments)()
    if request.method == "GET":
        form.visited_on.data = local_today()
        form.monitor_name.data = current_user.full_name
        form.agreement_id.data = str(agreement.id) if agreement else ""
    locale = _locale()
    texts = {c.id: c.text(locale) for c in commitments}

    def render() -> str:
        return render_template("compliance/visit_form.html", form=form, family=family,
                               agreement=agreement, texts=texts, finding_labels=FINDING_LABELS,
                               visitable=VISITABLE)

    if request.method == "POST" and family is None:
        form.validate_on_submit()
        return fail_with(form, render, ValidationFailed(_("Choose the family."), field="family"))
    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    data = form.field_data()
    payload = {**data, "family": str(family.id), "agreement": str(agreement.id),
               "findings": {str(k): v for k, v in data["findings"].items()}}
    try:
        visit_id, was_created = run_once(
            form.idempotency_key.data, "visit.create", payload,
            lambda: record_visit(family, agreement, data, current_user), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    if was_created and db.session.execute(db.select(Sanction.id).where(
            Sanction.visit_id == visit_id)).first():
        flash(_("A breach was recorded: a sanction is proposed to the coordinators."), "warning")
    return created(visit_id, url_for("compliance.visit", visit_id=visit_id), was_created,
                   _("Visit saved."))


@bp.route("/visits/<uuid:visit_id>")
def visit(visit_id: uuid.UUID):
    """A visit: the result for each commitment, notes, GPS and any sanction it led to."""
    found = load_visit(visit_id)
    if found is None or found.voided:
        abort(404)
    check_community_scope(found.family.community_id)
    sanctions = db.session.execute(
        db.select(Sanction).where(Sanction.visit_id == found.id)).scalars().all()
    return render_template("compliance/visit.html", visit=found, sanctions=sanctions,
                           sections=gather_sections("visit", RecordPage(found)),
                           locale=_locale())


@bp.route("/sanctions/")
@role_required("coordinator")
def sanctions():
    """Sanctions proposed after breaches, for coordinators to confirm or dismiss."""
    status = request.args.get("status", "proposed")
    if status not in ("proposed", "confirmed", "dismissed", "all"):
        status = "proposed"
    page = page_arg()
    pagination = db.paginate(sanction_queue(None if status == "all" else status), page=page,
                             per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("compliance/sanctions.html", pagination=pagination, status=status,
                           form=DecisionForm())


@bp.route("/sanctions/<uuid:sanction_id>/decide", methods=["POST"])
@role_required("coordinator")
def decide(sanction_id: uuid.UUID):
    """Confirm (the agreement's status follows) or dismiss a proposed sanction."""
    sanction = db.get_or_404(Sanction, sanction_id)
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("confirm", "dismiss"):
        abort(400)
    try:
        if form.decision.data == "confirm":
            confirm_sanction(sanction, current_user, form.notes.data)
        else:
            dismiss_sanction(sanction, current_user, form.notes.data)
    except AppError as error:
        db.session.rollback()
        if wants_json():
            raise
        flash(str(error.message), "error")
        return redirect(url_for("compliance.sanctions")), 303
    db.session.commit()
    if wants_json():
        return {"id": str(sanction.id), "status": sanction.status,
                "agreement_status": sanction.agreement.status}
    flash(_("Sanction %(status)s.", status=sanction_status_label(sanction.status)), "success")
    back = request.form.get("next") or ""
    if not back.startswith("/") or back.startswith("//"):  # only back to a page of this app
        back = url_for("compliance.sanctions")
    return redirect(back)
