"""Attaching photos and scans, and serving them only to people who may see their record."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

from fieldapp import sections
from fieldapp.agreements.sections import AgreementPage
from fieldapp.agreements.sections import register_section as register_agreement_section
from fieldapp.auth.access import check_community_scope, role_required
from fieldapp.errors import ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.sections import FamilyPage
from fieldapp.families.sections import register_section as register_family_section
from fieldapp.forms import parse_position
from fieldapp.media import bp
from fieldapp.media.forms import KIND_LABELS, AttachmentForm, VoidForm
from fieldapp.media.images import UploadTooLarge, thumbnail
from fieldapp.media.models import Attachment
from fieldapp.media.operations import (
    attach_image,
    owner_of_key,
    owner_or_404,
    request_original,
    void_attachment,
    voidable,
)
from fieldapp.media.owners import Owner, load_owner
from fieldapp.media.queries import attachments_of, pruned_hashes, store_usage
from fieldapp.media.storage import Damaged, current_storage
from fieldapp.submissions import created

#: Thumbnails in a record's strip: at most this many pixels on the long side.
THUMB_SIDE = 240
#: Shown in place of an image whose file has not arrived (or no longer hashes to its name).
PLACEHOLDER = "icons/media-missing.svg"


def _strip(owner: Owner | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    user = current_user if current_user.is_authenticated else None
    auditor = user is not None and user.has_role("coordinator")
    # An auditor (a coordinator) also sees the voided ones, listed apart as voided.
    every = attachments_of(owner.record.id, owner_table=owner.table, with_voided=auditor)
    shown = [s for s in every if not s.attachment.voided]
    may = voidable([s.attachment for s in shown], user)
    items = [replace(s, voidable=s.attachment.id in may) for s in shown]
    central = current_app.config["ROLE"] == "central"
    usage = store_usage() if current_app.config["MEDIA_QUOTA_MB"] else None
    return {"owner": owner, "items": items, "labels": KIND_LABELS,
            "over_quota": usage if usage is not None and usage.over_quota else None,
            "voided": [s.attachment for s in every if s.attachment.voided],
            "void_form": VoidForm(formdata=None),
            # A coordinator on central may ask a node for an original not received yet.
            "may_request": central and auditor,
            "form": AttachmentForm(formdata=None).for_kinds(owner.kinds)}


def _family_strip(page: FamilyPage) -> dict[str, Any] | None:
    return _strip(load_owner(db.session, "families", page.family.id))


def _agreement_strip(page: AgreementPage) -> dict[str, Any] | None:
    return _strip(load_owner(db.session, "agreements", page.agreement.id))


def _record_strip(table: str) -> Any:
    def gather(page: sections.RecordPage) -> dict[str, Any] | None:
        return _strip(load_owner(db.session, table, page.record.id))
    return gather


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The photo strip on the family, agreement, delivery and visit pages."""
    title = _l("Photos and scans")
    register_family_section(state.app, "media", _family_strip, "media/_strip.html", 45,
                            title=title)
    register_agreement_section(state.app, "media", _agreement_strip, "media/_strip.html", 35,
                               title=title)
    sections.register_section(state.app, "delivery", "media", _record_strip("benefit_deliveries"),
                              "media/_strip.html", 15, title=title)
    sections.register_section(state.app, "visit", "media", _record_strip("compliance_visits"),
                              "media/_strip.html", 15, title=title)


def _read_upload(form: AttachmentForm) -> bytes:
    limit = current_app.config["MEDIA_MAX_UPLOAD_BYTES"]
    storage = form.file.data
    data = storage.stream.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(_l("This photo is larger than %(max)s MB. Take it again at a "
                                "smaller size.", max=f"{limit / 1e6:.0f}"))
    return data


def _taken_at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(_l("The time the photo was taken is not valid."),
                               field="taken_at") from None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC) + timedelta(days=1):  # a tablet's clock far ahead
        raise ValidationFailed(_l("The time the photo was taken is not valid."),
                               field="taken_at")
    return moment


@bp.route("/<owner_table>/<uuid:owner_id>", methods=["POST"])
def upload(owner_table: str, owner_id: uuid.UUID):
    """Attach a photo or scan to a record (a form, or the tablet's outbox)."""
    return _upload(owner_or_404(owner_table, owner_id))  # another table: 404


@bp.route("/by-key/<key>", methods=["POST"])
def upload_by_key(key: str):
    """Attach a photo taken on the tablet with a form still in its outbox: the record that
    form's key made (sent just before it, in the outbox's order)."""
    return _upload(owner_of_key(key))


def _upload(owner: Owner) -> Any:
    check_community_scope(owner.community_id)
    try:
        form = AttachmentForm().for_kinds(owner.kinds)
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        raise UploadTooLarge(_l("This photo is too large to send. Take it again at a smaller "
                                "size.")) from None
    if not valid:
        field, errors = next(iter(form.errors.items()))
        raise ValidationFailed(errors[0] if errors else None, field=field)
    lat, lon = parse_position({"lat": form.lat.data, "lon": form.lon.data})
    attachment, was_created = attach_image(
        owner, _read_upload(form), kind=form.kind.data, caption=form.caption.data,
        taken_at=_taken_at(form.taken_at.data), lat=lat, lon=lon)
    db.session.commit()
    if was_created and current_app.config["MEDIA_QUOTA_MB"] and store_usage().over_quota:
        flash(str(OVER_QUOTA), "warning")
    return created(attachment.id, owner.url() + "#media", was_created,
                   _l("Photo attached."))


#: Said at upload and on the sync page while the store is over its quota.
OVER_QUOTA = _l("This node's photos are over their quota: it still takes them, but ask the "
                "coordinator to prune the old ones (kept on central) or to raise the quota.")


def _attachment_or_404(attachment_id: uuid.UUID, *, voided: bool = False) -> Attachment:
    """An attachment the reader may see; a voided one only to a coordinator (an auditor) when
    ``voided``."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or (attachment.voided and not (
            voided and current_user.is_authenticated and current_user.has_role("coordinator"))):
        abort(404)
    family = db.session.get(Family, attachment.family_id)
    if family is None:
        abort(404)
    check_community_scope(family.community_id)
    return attachment


def _not_received(state: str) -> Response:
    """An image that says the file is not here (never a broken image)."""
    placeholder = Path(current_app.static_folder) / PLACEHOLDER
    response = Response(placeholder.read_bytes(), status=404, mimetype="image/svg+xml")
    response.headers["X-Media-State"] = state
    response.headers["Cache-Control"] = "no-store"
    return response


def _served(attachment: Attachment, data: bytes, *, download: bool) -> Response:
    response = Response(data, mimetype=attachment.mime)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    name = f"{attachment.kind}-{attachment.sha256[:12]}.jpg"
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


def _bytes_or_state(attachment: Attachment) -> bytes | str:
    try:
        data = current_storage().read(attachment.sha256)
    except Damaged:
        current_app.logger.warning("media file %s does not match its hash", attachment.sha256)
        return "damaged"
    if data is None:
        return "on_central" if pruned_hashes([attachment.sha256]) else "missing"
    return data


@bp.route("/<uuid:attachment_id>")
def file(attachment_id: uuid.UUID):
    """A photo or scan, to someone who may see its record (``?download=1``: as a file); a
    voided one to coordinators only."""
    attachment = _attachment_or_404(attachment_id, voided=True)
    found = _bytes_or_state(attachment)
    if isinstance(found, str):
        return _not_received(found)
    return _served(attachment, found, download=request.args.get("download") == "1")


@bp.route("/<uuid:attachment_id>/thumb")
def thumb(attachment_id: uuid.UUID):
    """A small copy of a photo or scan for a record's strip."""
    attachment = _attachment_or_404(attachment_id)
    found = _bytes_or_state(attachment)
    if isinstance(found, str):
        return _not_received(found)
    return _served(attachment, thumbnail(found, THUMB_SIDE), download=False)


@bp.route("/<uuid:attachment_id>/void", methods=["POST"])
def void(attachment_id: uuid.UUID):
    """Void a wrong photo or scan with a reason (kept for auditors, hidden elsewhere)."""
    attachment = _attachment_or_404(attachment_id)
    owner = load_owner(db.session, attachment.owner_table, attachment.owner_id)
    form = VoidForm()
    if not form.validate_on_submit():
        field, errors = next(iter(form.errors.items()))
        raise ValidationFailed(errors[0] if errors else None, field=field)
    void_attachment(attachment, form.reason.data)
    db.session.commit()
    if wants_json():
        return jsonify(id=str(attachment.id), voided=True)
    flash(str(_l("Photo voided. It is kept for auditors and no longer shown.")), "success")
    return _back_to(attachment, owner)


@bp.route("/<uuid:attachment_id>/request", methods=["POST"])
@role_required("coordinator")
def request_file(attachment_id: uuid.UUID):
    """Central: ask the node that holds this original to send it at its next sync."""
    attachment = _attachment_or_404(attachment_id)
    owner = load_owner(db.session, attachment.owner_table, attachment.owner_id)
    if not FlaskForm().validate_on_submit():  # the CSRF token only
        raise ValidationFailed(_l("The form expired. Open the page again."))
    request_original(attachment)
    db.session.commit()
    if wants_json():
        return jsonify(id=str(attachment.id), requested=True)
    flash(str(_l("Requested: the original arrives with its node's next sync.")), "success")
    return _back_to(attachment, owner)


def _back_to(attachment: Any, owner: Any) -> Any:
    """Back to the photos of the record the attachment belongs to (its family's, if that
    record is gone)."""
    back = owner.url() if owner is not None else url_for("families.detail",
                                                         family_id=attachment.family_id)
    return redirect(back + "#media")


def file_url(attachment_id: uuid.UUID) -> str:
    """The link to an attachment (exports list it)."""
    return url_for("media.file", attachment_id=attachment_id, _external=True)
