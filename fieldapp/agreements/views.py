"""Agreement pages: draft, edit, sign, amend, renew, change status, show with history."""

from __future__ import annotations

import uuid

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from fieldapp.agreements import bp
from fieldapp.agreements.forms import (
    SignForm,
    StatusForm,
    SuccessorForm,
    agreement_form_class,
)
from fieldapp.agreements.models import Agreement, Signature
from fieldapp.agreements.operations import (
    change_status,
    create_agreement,
    create_amendment,
    create_renewal,
    discard_draft,
    sign_agreement,
    update_draft,
    verify_content,
)
from fieldapp.agreements.queries import (
    agreement_audit,
    catalogue_benefits,
    catalogue_commitments,
    family_page_agreements,
    family_timeline,
    load_agreement,
    version_chain,
)
from fieldapp.agreements.rules import (
    KIND_LABELS,
    STATUS_LABELS,
    TRANSITIONS,
    default_period,
    period_on_signing,
)
from fieldapp.agreements.sections import after_own_cards, gather_sections
from fieldapp.audit.subjects import load_subject, register_related, register_subject
from fieldapp.auth.access import check_community_scope, role_required
from fieldapp.errors import AppError, NotFound, ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.queries import family_or_404
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.idempotency import run_once
from fieldapp.submissions import created, fail_with, local_today, parse_uuid, rejected


@bp.app_template_global()
def agreement_status_label(status: str) -> str:
    """An agreement status in the user's language (badges on every page)."""
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def agreement_kind_label(kind: str) -> str:
    """An agreement kind (original, amendment, renewal) in the user's language."""
    return str(KIND_LABELS.get(kind, kind))


def _family_section(page: FamilyPage) -> dict:
    """The family page's agreement section: versions and dated events."""
    agreements = family_page_agreements(page)
    return {"agreements": agreements, "events": family_timeline(page.family.id, agreements)}


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The agreement section of the family page; agreements and their signatures in the audit
    history."""
    register_section(state.app, "agreements", _family_section, "agreements/_family_section.html",
                     10, title=_l("Agreements"))
    register_subject(state.app, "agreement", lambda id_: db.session.get(Agreement, id_))
    register_related(state.app, "agreement", "signatures",
                     lambda id_: select(Signature.id).where(Signature.agreement_id == id_))


def _agreement_or_404(agreement_id: uuid.UUID) -> Agreement:
    agreement = load_agreement(agreement_id)
    if agreement is None or agreement.voided:
        abort(404)
    check_community_scope(agreement.family.community_id)
    return agreement


def _draft_form(agreement: Agreement | None = None, family: Family | None = None):
    benefit_types = catalogue_benefits(active_only=True)
    commitment_types = catalogue_commitments(active_only=True)
    if agreement is not None:  # keep entries deactivated after the draft was made
        known = {b.id for b in benefit_types}
        benefit_types += [b.benefit_type for b in agreement.benefits
                          if not b.voided and b.benefit_type_id not in known]
        known_c = {c.id for c in commitment_types}
        commitment_types += [c.commitment_type for c in agreement.commitments
                             if not c.voided and c.commitment_type_id not in known_c]
    form_class = agreement_form_class(benefit_types)
    form = form_class()
    locale = _locale()
    form.commitments.choices = [(str(c.id), c.text(locale)) for c in commitment_types]
    if request.method == "GET":
        if agreement is not None:
            form.family_id.data = str(agreement.family_id)
            form.period_start.data = agreement.period_start
            form.period_end.data = agreement.period_end
            form.commitments.data = [str(c.commitment_type_id) for c in agreement.commitments
                                     if not c.voided]
            form.notes.data = agreement.notes
            form.starts_on_signing.data = agreement.starts_on_signing
            for b in agreement.benefits:
                if not b.voided:
                    form[f"qty_{b.benefit_type.code}"].data = b.quantity
                    form[f"unit_{b.benefit_type.code}"].data = b.unit
                    form[f"schedule_{b.benefit_type.code}"].data = b.schedule
        else:
            form.family_id.data = str(family.id) if family else ""
            form.period_start.data, form.period_end.data = default_period(
                local_today(), current_app.config["AGREEMENT_CYCLE_START"],
                int(current_app.config["AGREEMENT_PERIOD_MONTHS"]))
            form.commitments.data = [str(c.id) for c in commitment_types]
    return form, {b.code: b for b in benefit_types}


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "es")


def _drafted_family(raw: str | None) -> Family | None:
    """The family a draft names: ``None`` when none or one the node does not hold (yet)."""
    if not raw:
        return None
    try:
        return family_or_404(parse_uuid(raw))
    except NotFound:
        return None


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Draft an agreement for a family from the commitment and benefit catalogues.

    Without ``?family=`` the form chooses the family itself: the tablet stores this page and,
    offline, offers the families it holds and those still in its outbox. A draft made offline
    carries the id the tablet gave it (``record_id``), so that its signature can name it.
    """
    # A family the node does not hold yet (still in the tablet's outbox) is chosen on the
    # page; a family outside the user's communities is refused (403) by family_or_404.
    family = _drafted_family(request.values.get("family") or request.form.get("family_id"))
    form, types = _draft_form(family=family)

    def render() -> str:
        return render_template("agreements/form.html", form=form, family=family, agreement=None,
                               types=types)

    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    if family is None:
        return fail_with(form, render, ValidationFailed(
            _l("This family is not on the node. A family registered on a tablet arrives when "
               "its registration is sent; choose the family again."), field="family_id"))
    data = form.terms(types)
    try:
        agreement_id, was_created = run_once(
            form.idempotency_key.data, "agreement.create", {**data, "family_id": str(family.id)},
            lambda: create_agreement(family, data, current_user), current_user.id,
        )
    except AppError as error:
        return fail_with(form, render, error)
    return created(agreement_id, url_for("agreements.detail", agreement_id=agreement_id),
                   was_created, _("Draft agreement saved. Check it with the family, then sign it."))


@bp.route("/<uuid:agreement_id>")
def detail(agreement_id: uuid.UUID):
    """An agreement: terms, signatures, content hash, versions and full history, with the
    sections other domains register (agreements/sections.py: what was delivered, sanctions)."""
    agreement = _agreement_or_404(agreement_id)
    sections = gather_sections(agreement)
    return render_template(
        "agreements/detail.html",
        agreement=agreement,
        family=agreement.family,
        chain=version_chain(agreement),
        history=agreement_audit(agreement),
        sections=sections,
        sections_after=after_own_cards(sections),
        hash_ok=verify_content(agreement) if agreement.content_hash else None,
        transitions=sorted(TRANSITIONS.get(agreement.status, ())),
        successor_form=SuccessorForm(),
        status_form=StatusForm(),
        locale=_locale(),
    )


@bp.route("/<uuid:agreement_id>/edit", methods=["GET", "POST"])
def edit(agreement_id: uuid.UUID):
    """Change a draft (a signed version is never changed)."""
    agreement = _agreement_or_404(agreement_id)
    if agreement.status != "draft":
        from fieldapp.agreements.rules import AgreementFrozen

        raise AgreementFrozen()
    form, types = _draft_form(agreement=agreement)

    def render() -> str:
        return render_template("agreements/form.html", form=form, family=agreement.family,
                               agreement=agreement, types=types)

    if not form.validate_on_submit():
        return rejected(form, render) if request.method == "POST" else render()
    try:
        update_draft(agreement, form.terms(types))
    except AppError as error:
        return fail_with(form, render, error)
    db.session.commit()
    flash(_("Changes saved."), "success")
    return redirect(url_for("agreements.detail", agreement_id=agreement.id))


@bp.route("/<uuid:agreement_id>/discard", methods=["POST"])
def discard(agreement_id: uuid.UUID):
    """Throw away a draft that will not be signed."""
    agreement = _agreement_or_404(agreement_id)
    discard_draft(agreement)
    db.session.commit()
    flash(_("Draft %(number)s discarded.", number=agreement.number), "success")
    return redirect(url_for("families.detail", family_id=agreement.family_id))


@bp.route("/<uuid:agreement_id>/sign", methods=["GET", "POST"])
def sign(agreement_id: uuid.UUID):
    """Sign a draft on the tablet's signature pad, or mark it signed on paper."""
    agreement = _agreement_or_404(agreement_id)
    form = SignForm()
    if request.method == "GET":
        form.family_name.data = agreement.family.head_name
        form.family_dni.data = agreement.family.dni
        form.staff_name.data = current_user.full_name
        form.place.data = agreement.family.community.name

    def render() -> str:
        printed = period_on_signing(agreement, local_today())
        return render_template("agreements/sign.html", form=form, agreement=agreement,
                               family=agreement.family, locale=_locale(), printed=printed)

    if request.method == "GET":
        if agreement.status != "draft":
            flash(_("This agreement is already signed."), "info")
            return redirect(url_for("agreements.detail", agreement_id=agreement.id))
        return render()
    if not form.validate_on_submit():
        return rejected(form, render)
    data = form.field_data()
    try:
        result_id, was_created = run_once(
            form.idempotency_key.data, "agreement.sign", {**data, "agreement": str(agreement.id)},
            lambda: sign_agreement(agreement, data), current_user.id,
        )
    except AppError as error:
        return fail_with(form, render, error)
    return created(result_id, url_for("agreements.detail", agreement_id=result_id), was_created,
                   _("Agreement signed. Its content is now frozen. Next step: a coordinator "
                     "activates it; benefits can be delivered from the day it is active."))


@bp.route("/sign")
def sign_offline():
    """Sign a draft made on this tablet that the node may not hold yet.

    The tablet stores this page; offline, its script shows the draft from the outbox (family,
    period, commitments and benefits from the stored catalogues) and queues the signature
    after the draft. Once the node holds the draft, ``?draft=`` leads to its own sign page.
    """
    draft_id = parse_uuid(request.args.get("draft"))
    agreement = load_agreement(draft_id) if draft_id else None
    if agreement is not None and not agreement.voided:
        check_community_scope(agreement.family.community_id)
        return redirect(url_for("agreements.sign", agreement_id=agreement.id))
    form = SignForm()
    form.staff_name.data = current_user.full_name
    return render_template("agreements/sign.html", form=form, agreement=None, family=None,
                           locale=_locale(), printed=None)


@bp.route("/<uuid:agreement_id>/status", methods=["POST"])
@role_required("coordinator")
def status(agreement_id: uuid.UUID):
    """Move an agreement to another status (activate, suspend, complete, terminate)."""
    agreement = _agreement_or_404(agreement_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change_status(agreement, form.to.data, form.reason.data)
    except AppError as error:
        return _refused(agreement_id, error)
    db.session.commit()
    flash(_("Agreement %(number)s is now %(status)s.", number=agreement.number,
            status=STATUS_LABELS.get(agreement.status, agreement.status)), "success")
    return redirect(url_for("agreements.detail", agreement_id=agreement.id))


def _refused(agreement_id: uuid.UUID, error: AppError):
    """A refused action on an agreement: its page again with the reason on top (or JSON)."""
    db.session.rollback()
    if wants_json():
        raise error
    flash(str(error.message), "error")
    return detail(agreement_id), error.status


def _successor(agreement_id: uuid.UUID, kind: str) -> Response:
    agreement = _agreement_or_404(agreement_id)
    form = SuccessorForm()
    if not form.validate_on_submit():
        abort(400)
    make = create_amendment if kind == "amendment" else create_renewal
    try:
        new_id, was_created = run_once(
            form.idempotency_key.data, f"agreement.{kind}", {"base": str(agreement.id)},
            lambda: make(agreement, current_user), current_user.id,
        )
    except AppError as error:
        return _refused(agreement_id, error)
    message = (_("Amendment drafted: change it, then sign it.") if kind == "amendment"
               else _("Renewal drafted for the next period: check it, then sign it."))
    return created(new_id, url_for("agreements.detail", agreement_id=new_id), was_created, message)


@bp.route("/<uuid:agreement_id>/amend", methods=["POST"])
def amend(agreement_id: uuid.UUID):
    """Start an amendment: a new version linked to this one."""
    return _successor(agreement_id, "amendment")


@bp.route("/<uuid:agreement_id>/renew", methods=["POST"])
def renew(agreement_id: uuid.UUID):
    """Start the next period's agreement."""
    return _successor(agreement_id, "renewal")


@bp.route("/signatures/<uuid:signature_id>.png")
def signature_image(signature_id: uuid.UUID):
    """A stored signature image (only for people who may see its family)."""
    signature = db.get_or_404(Signature, signature_id)
    if signature.image_png is None or signature.voided:
        abort(404)
    if signature.agreement_id:
        family = db.session.get(Agreement, signature.agreement_id).family
    else:  # a delivery's receipt: deliveries registers how to load one (audit/subjects.py)
        delivery = load_subject("delivery", signature.delivery_id)
        if delivery is None:
            abort(404)
        family = delivery.family
    check_community_scope(family.community_id)
    response = Response(signature.image_png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Content-Disposition"] = "inline"
    return response
