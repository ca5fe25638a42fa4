"""Deliveries: record against the active agreement, lists, a delivery's page, reversal."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from fieldapp.agreements.operations import agreement_for_delivery
from fieldapp.agreements.queries import (
    catalogue_benefits,
    current_agreement,
    family_page_agreements,
)
from fieldapp.agreements.sections import AgreementPage
from fieldapp.agreements.sections import register_section as register_agreement_section
from fieldapp.audit.subjects import register_related, register_subject
from fieldapp.auth.access import check_community_scope, scoped_community_ids
from fieldapp.deliveries import bp
from fieldapp.deliveries.forms import DeliveryForm, ReversalForm
from fieldapp.deliveries.models import Delivery
from fieldapp.deliveries.operations import record_delivery, refusal_for, reverse_delivery
from fieldapp.deliveries.queries import (
    delivery_list,
    family_deliveries,
    promised_vs_delivered,
    reversed_ids,
)
from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.families.listing import list_filter_args
from fieldapp.families.queries import communities_in_scope, family_or_404
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.forms import page_arg
from fieldapp.idempotency import run_once
from fieldapp.sections import RecordPage, gather_sections
from fieldapp.submissions import created, fail_with, local_today, parse_uuid, rejected


def _family_section(page: FamilyPage) -> dict:
    """The family page's delivery section: promised vs delivered, latest deliveries."""
    return family_deliveries(page.family, agreements=family_page_agreements(page))


def _agreement_section(page: AgreementPage) -> list[dict]:
    """The agreement page's benefit section: promised, delivered and still owed."""
    return promised_vs_delivered(page.agreement)


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The delivery section of the family page and the benefit section of the agreement page;
    deliveries in an agreement's audit history, and loadable by id (the agreement views show a
    delivery's receipt signature to those who may see its family)."""
    register_section(state.app, "deliveries", _family_section, "deliveries/_family_section.html",
                     30, title=_l("Benefit deliveries"))
    register_agreement_section(state.app, "benefits", _agreement_section,
                               "deliveries/_agreement_section.html", 20,
                               title=_l("Benefits: promised and delivered"))
    register_subject(state.app, "delivery", lambda id_: db.session.get(Delivery, id_))
    register_related(state.app, "agreement", "deliveries",
                     lambda id_: select(Delivery.id).where(Delivery.agreement_id == id_))


@bp.route("/")
def index():
    """Deliveries of a family or a community (reversals included), newest first."""
    chosen = list_filter_args()
    suspected = request.args.get("suspected") == "1"
    page = page_arg()
    stmt = delivery_list(chosen.family_id, chosen.community_id, scoped_community_ids(), suspected)
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["PER_PAGE"],
                             error_out=False)
    return render_template(
        "deliveries/index.html", pagination=pagination, family=chosen.family,
        community=chosen.community,
        communities=communities_in_scope(),
        suspected=suspected, reversed=reversed_ids([d.id for d in pagination.items]),
    )


def _choices(form: DeliveryForm, promised: list, known_family: bool = True) -> None:
    locale = str(get_locale() or "es")
    promised_ids = {row["benefit_type"].id for row in promised if row["benefit_type"]}
    types = catalogue_benefits()
    ordered = ([t for t in types if t.id in promised_ids]
               + [t for t in types if t.id not in promised_ids and t.active])
    units = {row["benefit_type"].id: row["unit"] for row in promised if row["benefit_type"]}
    form.benefit_type_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(t.id), t.name(locale) + ("" if t.id in promised_ids or not known_family
                                                  else " — " + _("not promised")),
                     render_kw={"data-unit": units.get(t.id, t.default_unit),
                                "data-item": t.name_es})
        for t in ordered
    ]


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Record a delivery for a family, with the receipt signature or thumbprint.

    Without ``?family=`` the form chooses the family itself (the tablet's stored copy of this
    page, offline, picks it from the families stored on the tablet).
    """
    raw_family = request.values.get("family") or request.form.get("family_id")
    family = family_or_404(parse_uuid(raw_family)) if raw_family else None
    today = local_today()
    # The agreement and its promised vs delivered order the choices and inform the person; a
    # replayed or scripted POST that succeeds needs neither, so they are read only for display.
    agreement = (agreement_for_delivery(family.id, today)
                 if family and request.method == "GET" else None)
    promised = promised_vs_delivered(agreement) if agreement else []
    form = DeliveryForm()
    _choices(form, promised, family is not None)
    if request.method == "GET":
        form.family_id.data = str(family.id) if family else ""
        form.delivered_on.data = today
        form.delivered_by_name.data = current_user.full_name
        form.receiver_name.data = family.head_name if family else ""

    def render() -> str:
        shown_agreement = agreement or (
            agreement_for_delivery(family.id, today) if family else None)
        if shown_agreement is None and family is not None:
            # Signed but not active yet (or suspended): no delivery now, but its benefits are
            # promised, and the choices must not call them "not promised".
            pending = current_agreement(family.id)
            if pending is not None and pending.status in ("signed", "suspended"):
                shown_agreement = pending
        shown = promised or (promised_vs_delivered(shown_agreement) if shown_agreement else [])
        _choices(form, shown, family is not None)
        return render_template("deliveries/form.html", form=form, family=family,
                               agreement=shown_agreement, promised=shown,
                               warning=refusal_for(family.id, today) if family else None)

    if not form.validate_on_submit() or family is None:
        return rejected(form, render) if request.method == "POST" else render()
    data = form.field_data()
    data["family_id"] = str(family.id)
    try:
        delivery_id, was_created = run_once(
            form.idempotency_key.data, "delivery.create", data,
            lambda: record_delivery(family, data, current_user), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    delivery = db.session.get(Delivery, delivery_id)
    if was_created and delivery.suspected_duplicate_of_id:
        flash(_("Careful: the same item was already delivered to this family on that day. The "
                "delivery is saved and flagged for review."), "warning")
    return created(delivery_id, url_for("deliveries.detail", delivery_id=delivery_id),
                   was_created, _("Delivery %(code)s recorded.", code=delivery.code))


def _delivery_or_404(delivery_id: uuid.UUID) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.voided:
        abort(404)
    check_community_scope(delivery.family.community_id)
    return delivery


@bp.route("/<uuid:delivery_id>")
def detail(delivery_id: uuid.UUID):
    """A delivery: what, to whom, against which agreement, its receipt, and its reversal."""
    delivery = _delivery_or_404(delivery_id)
    return _detail(delivery, ReversalForm())


def _detail(delivery: Delivery, form: ReversalForm) -> str:
    from fieldapp.agreements.models import Signature

    reversal = db.session.execute(
        db.select(Delivery).where(Delivery.reverses_id == delivery.id)).scalar_one_or_none()
    signature = db.session.execute(
        db.select(Signature).where(Signature.delivery_id == delivery.id,
                                   Signature.voided.is_(False))).scalars().first()
    double = (db.session.get(Delivery, delivery.suspected_duplicate_of_id)
              if delivery.suspected_duplicate_of_id else None)
    return render_template("deliveries/detail.html", delivery=delivery, reversal=reversal,
                           signature=signature, double=double, form=form,
                           sections=gather_sections("delivery", RecordPage(delivery)),
                           locale=str(get_locale() or "es"))


@bp.route("/<uuid:delivery_id>/reverse", methods=["POST"])
def reverse(delivery_id: uuid.UUID):
    """Reverse a delivery recorded by mistake (the original is kept)."""
    delivery = _delivery_or_404(delivery_id)
    form = ReversalForm()

    def render() -> str:
        return _detail(delivery, form)

    if not form.validate_on_submit():
        return rejected(form, render)
    payload = {"delivery": str(delivery.id), "reason": form.reason.data}
    try:
        reversal_id, was_created = run_once(
            form.idempotency_key.data, "delivery.reverse", payload,
            lambda: reverse_delivery(delivery, form.reason.data, current_user), current_user.id)
    except AppError as error:
        return fail_with(form, render, error)
    return created(reversal_id, url_for("deliveries.detail", delivery_id=reversal_id),
                   was_created, _("Delivery reversed. Both entries stay in the history."))
