"""Attaching photos and scans to records (add + flush, never commit)."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from fieldapp.audit import operations as audit
from fieldapp.auth.access import check_write_scope
from fieldapp.errors import NotFound, ValidationFailed
from fieldapp.extensions import db
from fieldapp.media.images import reduce_image
from fieldapp.media.models import Attachment
from fieldapp.media.owners import Owner, load_owner
from fieldapp.media.rules import check_attachment
from fieldapp.media.storage import current_storage


def owner_or_404(table: str, owner_id: uuid.UUID) -> Owner:
    """The live record attachments are asked for.

    :raises NotFound: no such record (or an owner table photos do not attach to).
    """
    owner = load_owner(db.session, table, owner_id)
    if owner is None:
        raise NotFound()
    return owner


#: The create forms a photo may be taken with on the tablet: their idempotency scope -> the
#: table of the record they make.
KEY_SCOPES = {"family.create": "families", "delivery.create": "benefit_deliveries",
              "visit.create": "compliance_visits"}


def owner_of_key(key: str) -> Owner:
    """The record a create form sent with ``key`` made (a photo taken with the form).

    :raises NotFound: no record was made with that key here (yet).
    """
    from fieldapp.idempotency import IdempotencyKey

    row = db.session.get(IdempotencyKey, key) if 8 <= len(key) <= 64 else None
    table = KEY_SCOPES.get(row.scope) if row is not None else None
    if table is None or row.entity_id is None:
        raise NotFound(_l("The record this photo was taken for has not reached this node."))
    return owner_or_404(table, row.entity_id)


def attach_image(owner: Owner, data: bytes, *, kind: str, caption: str | None = None,
                 taken_at: datetime | None = None, lat: float | None = None,
                 lon: float | None = None) -> tuple[Attachment, bool]:
    """Decode, reduce and store an uploaded image, and attach it to ``owner``.

    The same photo sent twice for one record (a retried upload, a double tap) is attached once:
    the second call returns the first attachment. A scan of an agreement binds its hash into
    the agreement's audit trail.

    :returns: the attachment, and whether it was made now.
    :raises OutOfScope: the owner is in a community the user does not work in.
    :raises ImageRefused: not an image the app keeps (see :func:`reduce_image`).
    :raises ValidationFailed: a caption, kind or place that breaks a rule.
    """
    check_write_scope(owner.community_id)
    config = current_app.config
    caption = (caption or "").strip() or None
    if kind not in owner.kinds:
        raise ValidationFailed(_l("This kind of attachment does not fit this record."),
                               field="kind")
    image = reduce_image(data, max_bytes=config["MEDIA_MAX_UPLOAD_BYTES"],
                         max_pixels=config["MEDIA_MAX_PIXELS"], max_side=config["MEDIA_MAX_SIDE"],
                         quality=config["MEDIA_JPEG_QUALITY"])
    from fieldapp.media.storage import sha256_of

    sha256 = sha256_of(image.data)
    values = {"owner_table": owner.table, "kind": kind, "caption": caption, "sha256": sha256,
              "mime": image.mime, "size": len(image.data), "width": image.width,
              "height": image.height, "lat": lat, "lon": lon}
    check_attachment(values, config["MEDIA_MAX_STORED_BYTES"])
    existing = db.session.execute(
        select(Attachment).where(Attachment.owner_id == owner.record.id,
                                 Attachment.sha256 == sha256,
                                 Attachment.voided.is_(False))).scalars().first()
    if existing is not None:
        return existing, False
    current_storage().put(image.data)
    user = current_user if current_user and current_user.is_authenticated else None
    attachment = Attachment(family_id=owner.family_id, owner_id=owner.record.id,
                            recorded_by=user.username if user else None, taken_at=taken_at,
                            **{k: v for k, v in values.items() if k not in ("lat", "lon")},
                            lat=lat, lon=lon)
    db.session.add(attachment)
    db.session.flush()
    audit.record("create", attachment, family_id=owner.family_id)
    if owner.table == "agreements" and kind == "scan":
        # The scan's hash in the agreement's own history: a later file that does not hash to
        # it is not the scan that was attached.
        audit.record("scan:attach", owner.record, before={},
                     after={"scan_sha256": sha256, "attachment_id": str(attachment.id)},
                     family_id=owner.family_id)
    return attachment, True
