"""Print views (PDFs made on the node, no connection needed) and central's public /verify page."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    stream_with_context,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from fieldapp.agreements.models import Agreement
from fieldapp.agreements.rules import STATUS_LABELS
from fieldapp.auth.access import central_only, check_community_scope, public, scoped_community_ids
from fieldapp.communities.models import Community
from fieldapp.deliveries.models import Delivery
from fieldapp.errors import Forbidden, NotFound, ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.queries import communities_in_scope, family_or_404
from fieldapp.forms import parse_int
from fieldapp.grievances.access import check_may_print
from fieldapp.grievances.queries import load_grievance, slip_data
from fieldapp.printing.agreement_pdf import agreement_pdf
from fieldapp.printing.batch import iter_batch_pdf
from fieldapp.printing.grievance_slip import grievance_slip_pdf
from fieldapp.printing.labels import (
    LANGUAGES,
    agreement_labels,
    attendance_labels,
    card_labels,
    grievance_slip_labels,
    receipt_labels,
)
from fieldapp.printing.queries import (
    STATUS_CHOICES,
    agreement_print,
    agreements_query,
    attendance_sheet,
    community_families,
    family_cards,
    receipt_print,
)
from fieldapp.printing.sheets import attendance_pdf, cards_pdf, receipt_pdf
from fieldapp.printing.verification import verify_agreement
from fieldapp.ratelimit import hit, too_many
from fieldapp.submissions import parse_uuid
from fieldapp.trainings.models import TrainingSession

bp = Blueprint("printing", __name__, url_prefix="/print")
verify_bp = Blueprint("verification", __name__, url_prefix="/verify")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _pdf(data: Any, filename: str) -> Response:
    """A PDF response shown in the browser; personal data, so never stored by caches."""
    response = Response(data, mimetype="application/pdf")
    safe = _SAFE_NAME.sub("-", filename).strip("-") or "fieldapp"
    response.headers["Content-Disposition"] = f'inline; filename="{safe}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _lang() -> str:
    lang = request.args.get("lang", "es")
    if lang not in LANGUAGES:
        raise ValidationFailed(_("Printouts are made in Spanish (es) or English (en)."),
                               field="lang")
    return lang


def _community_arg() -> Community | None:
    code = request.args.get("community", "").strip()
    if not code:
        return None
    community = db.session.execute(
        select(Community).where(Community.code == code[:20], Community.voided.is_(False))
    ).scalar_one_or_none()
    if community is None:
        raise NotFound(_("There is no community with this code."))
    check_community_scope(community.id)
    return community


def _family_arg() -> Family | None:
    value = request.args.get("family", "").strip()
    if not value:
        return None
    return family_or_404(parse_uuid(value))


@bp.route("/")
def index():
    """What can be printed, per community: agreements, QR cards, attendance sheets."""
    communities = communities_in_scope()
    return render_template("printing/index.html", communities=communities)


@bp.route("/agreements/<uuid:agreement_id>.pdf")
def agreement(agreement_id: uuid.UUID):
    """One agreement's PDF: the signed version with its QR code, or a marked draft
    (``?scans=1``: with the scans of the paper copy as pages)."""
    record = db.get_or_404(Agreement, agreement_id)
    check_community_scope(record.family.community_id)
    if record.voided:
        raise NotFound()
    pdf = agreement_pdf(agreement_print(record, with_scans=request.args.get("scans") == "1"),
                        agreement_labels(_lang()))
    return _pdf(pdf, record.number)


@bp.route("/agreements.pdf")
def agreements():
    """Agreements of a community, a family or the whole program in one PDF, streamed."""
    lang = _lang()
    status = request.args.get("status", "in_force")
    if status not in STATUS_CHOICES:
        raise ValidationFailed(_("Unknown choice of agreements."), field="status")
    try:
        year = parse_int(request.args["year"], 2000, 2100) if request.args.get("year") else None
    except ValueError:
        raise ValidationFailed(_("The year must be a number such as 2026."),
                               field="year") from None
    community, family = _community_arg(), _family_arg()
    scope = scoped_community_ids()
    if community is None and family is None and scope is None and not current_user.has_role(
            "coordinator"):
        raise Forbidden(_("Only coordinators print the agreements of every community."))
    ids = list(db.session.execute(agreements_query(
        community=community, family=family, statuses=STATUS_CHOICES[status], year=year,
        community_ids=scope,
    )).scalars())
    if not ids:
        raise NotFound(_("There are no agreements to print for this choice."))
    labels = agreement_labels(lang)
    name = family.code if family else community.code if community else "all"
    return _pdf(stream_with_context(iter_batch_pdf(ids, labels)), f"agreements-{name}-{lang}")


@bp.route("/deliveries/<uuid:delivery_id>/receipt.pdf")
def receipt(delivery_id: uuid.UUID):
    """A delivery receipt to sign or thumbprint (copies for the family and the program)."""
    delivery = db.get_or_404(Delivery, delivery_id)
    check_community_scope(delivery.family.community_id)
    with_photos = request.args.get("photos") == "1"
    return _pdf(receipt_pdf(receipt_print(delivery, with_photos), receipt_labels(_lang())),
                f"receipt-{delivery.code}")


@bp.route("/trainings/<uuid:session_id>/attendance.pdf")
def session_attendance(session_id: uuid.UUID):
    """The attendance sheet of a training session: every family of its community."""
    session = db.get_or_404(TrainingSession, session_id)
    check_community_scope(session.community_id)
    sheet = attendance_sheet(session.community, session)
    return _pdf(attendance_pdf(sheet, attendance_labels(_lang())), f"attendance-{session.code}")


@bp.route("/attendance.pdf")
def blank_attendance():
    """A blank attendance sheet for a community (topic and date written by hand)."""
    community = _community_arg()
    if community is None:
        raise ValidationFailed(_("Choose a community."), field="community")
    sheet = attendance_sheet(community)
    return _pdf(attendance_pdf(sheet, attendance_labels(_lang())),
                f"attendance-{community.code}")


@bp.route("/cards.pdf")
def cards():
    """Family QR cards (ten per page) of a community or of one family."""
    family, community = _family_arg(), _community_arg()
    if family is not None:
        families = [family]
        name = family.code
    elif community is not None:
        families = community_families(community)
        name = community.code
    else:
        raise ValidationFailed(_("Choose a community or a family."), field="community")
    if not families:
        raise NotFound(_("This community has no families yet."))
    return _pdf(cards_pdf(family_cards(families), card_labels(_lang())), f"cards-{name}")


@bp.route("/grievances/<uuid:grievance_id>.pdf")
def grievance_slip(grievance_id: uuid.UUID):
    """A grievance's receipt slip for the family (Spanish): its code, the day an answer is due,
    the program's contact and a QR to its public status page."""
    grievance = check_may_print(load_grievance(grievance_id))
    pdf = grievance_slip_pdf(slip_data(grievance), grievance_slip_labels("es"))
    return _pdf(pdf, grievance.code)


def _status_names() -> dict[str, str]:
    """The statuses a verified copy can have (a signed version's: never a draft), translated."""
    return {k: str(v) for k, v in STATUS_LABELS.items() if k != "draft"}


@verify_bp.route("/<agreement_id>/<printed_hash>")
@public
@central_only
def verify(agreement_id: str, printed_hash: str):
    """Public: whether a printed agreement is the registered signed version (its QR leads here)."""
    config = current_app.config
    limit, window = int(config["VERIFY_RATE_LIMIT"]), int(config["VERIFY_RATE_WINDOW"])
    allowed = hit(f"verify:{request.remote_addr or '-'}", limit, window, durable=False)
    db.session.commit()
    if not allowed:
        return too_many(window)
    verdict = verify_agreement(agreement_id[:64], printed_hash[:128])
    if wants_json():
        return jsonify(verdict={k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                for k, v in vars(verdict).items()})
    response = make_response(render_template("printing/verify.html", verdict=verdict,
                                             status_names=_status_names()))
    response.headers["Cache-Control"] = "no-store"
    return response
