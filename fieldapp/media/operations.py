"""Attaching photos and scans to records (add + flush, never commit)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from fieldapp.audit import operations as audit
from fieldapp.auth.access import check_write_scope
from fieldapp.errors import AppError, NotFound, ValidationFailed
from fieldapp.extensions import db
from fieldapp.media.images import reduce_image
from fieldapp.media.models import Attachment, MediaRequest, OnCentral
from fieldapp.media.owners import Owner, load_owner
from fieldapp.media.queries import forget_usage, store_usage
from fieldapp.media.rules import check_attachment
from fieldapp.media.storage import current_storage
from fieldapp.models import utcnow
from sync.storage.fastsql import begin_write, is_sqlite


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
              "visit.create": "compliance_visits",
              # the scans of a copy signed on paper, taken on the sign form
              "agreement.sign": "agreements"}


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
    _one_upload_at_a_time(owner.record.id, sha256)
    existing = db.session.execute(
        select(Attachment).where(Attachment.owner_id == owner.record.id,
                                 Attachment.sha256 == sha256,
                                 Attachment.voided.is_(False))).scalars().first()
    if existing is not None:
        return existing, False
    store = current_storage()
    if not store.has(sha256) and store_usage(store).full_for(len(image.data)):
        raise StoreFull()
    store.put(image.data)
    forget_usage()
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


def _one_upload_at_a_time(owner_id: Any, sha256: str) -> None:
    """Hold the lock under which the same photo for the same record is looked for, then
    attached: two uploads of it at once (a retried send while the first is still on its way)
    make one attachment, not two. PostgreSQL: a transaction-scoped advisory lock of that record
    and photo; SQLite: the database's write lock, taken now rather than at the insert."""
    if is_sqlite(db.session):
        begin_write(db.session)
    else:
        key = func.hashtextextended(f"attach:{owner_id}:{sha256}", 0)
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


class StoreFull(AppError):
    """No room left for another photo without leaving the database too little (507)."""

    code = "media_store_full"
    status = 507
    message = _l("This node's disk is full: the photo was not kept (a tablet keeps it and "
                 "sends it again later). Tell the coordinator so that old photos are pruned or "
                 "the disk enlarged.")


@dataclass
class Pruned:
    """What ``fieldapp media prune`` removed (or would remove)."""

    hashes: list[str]
    bytes: int


def prune_files(*, dry_run: bool = False, now: datetime | None = None) -> Pruned:
    """Remove this field node's copy of the files central confirmed it holds whose newest
    attachment is older than ``MEDIA_RETENTION_DAYS`` (their pages then say "kept on
    central"). Never on central; never a file central has not confirmed.

    :raises PruneRefused: on central, or retention is off (``MEDIA_RETENTION_DAYS`` = 0).
    """
    config = current_app.config
    if config["ROLE"] != "field":
        raise PruneRefused(_l("Central never prunes its files: it is the program's record."))
    days = float(config["MEDIA_RETENTION_DAYS"] or 0)
    if days <= 0:
        raise PruneRefused(_l("Retention is off (MEDIA_RETENTION_DAYS is 0): nothing is "
                              "pruned."))
    before = (now or utcnow()) - timedelta(days=days)
    newest = (select(Attachment.sha256, func.max(Attachment.created_at).label("newest"))
              .group_by(Attachment.sha256).subquery())
    candidates = db.session.execute(
        select(OnCentral).join(newest, newest.c.sha256 == OnCentral.sha256)
        .where(OnCentral.pruned_at.is_(None), newest.c.newest < before)
        .order_by(OnCentral.sha256)).scalars().all()
    store = current_storage()
    result = Pruned([], 0)
    moment = utcnow()
    for row in candidates:
        size = store.size(row.sha256)
        if size is None:
            continue
        result.hashes.append(row.sha256)
        result.bytes += size
        if not dry_run:
            row.pruned_at = moment
    if not dry_run:
        db.session.flush()  # remembered before the files go: a crash leaves a file, not a hole
    return result


def remove_pruned(hashes: list[str]) -> None:
    """Remove the files :func:`prune_files` marked (after its transaction committed)."""
    store = current_storage()
    for sha256 in hashes:
        store.remove(sha256)
    forget_usage()


class PruneRefused(AppError):
    code = "prune_refused"
    status = 409


class VoidRefused(AppError):
    """An attachment this user may not void (or one voided already)."""

    code = "void_refused"
    status = 409
    message = _l("This photo cannot be voided.")


#: The longest reason kept for a void.
VOID_REASON_MAX = 500


def may_void(attachment: Attachment, user: Any) -> bool:
    """Whether ``user`` may void ``attachment``: a coordinator, or the person who attached it
    while it has not left this node yet (its row still waits in the node's outbox)."""
    return attachment.id in voidable([attachment], user)


def voidable(attachments: list[Attachment], user: Any) -> set[uuid.UUID]:
    """The ids of those of ``attachments`` that ``user`` may void (one query at most)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    live = [a for a in attachments if not a.voided]
    if user.has_role("coordinator"):
        return {a.id for a in live}
    return not_yet_sent([a.id for a in live
                         if a.recorded_by is not None and a.recorded_by == user.username])


def not_yet_sent(attachment_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the attachments made on this field node that central has not accepted yet
    (their insert still waits in the outbox). None on central."""
    from sync.state import current_state

    if not attachment_ids or current_app.config["ROLE"] != "field":
        return set()
    state = current_state(current_app)
    if state is None:
        return set()
    outbox = state.tables.outbox
    return set(db.session.execute(
        select(outbox.c.row_id).where(outbox.c.table_name == Attachment.__tablename__,
                                      outbox.c.row_id.in_(attachment_ids), outbox.c.op == "i",
                                      outbox.c.status != "done")).scalars())


def void_attachment(attachment: Attachment, reason: Any) -> Attachment:
    """Void a wrong attachment (a photo of the wrong family): hidden from strips, PDFs and
    exports, kept with its file for auditors, with who voided it, when and why. Voiding an
    agreement's scan is written into the agreement's history too; the agreement itself (signed
    or not) does not change.

    :raises OutOfScope: the record is in a community the user does not work in.
    :raises VoidRefused: voided already, or the user is neither a coordinator nor the person
        who attached it before it was sent.
    :raises ValidationFailed: no reason given, or a reason too long.
    """
    family_community = load_family_community(attachment.family_id)
    check_write_scope(family_community)
    user = current_user if current_user and current_user.is_authenticated else None
    if attachment.voided:
        raise VoidRefused(_l("This photo was voided already."))
    if not may_void(attachment, user):
        raise VoidRefused(_l("Only a coordinator, or the person who took the photo before it "
                             "was sent, can void it."))
    reason = (reason if isinstance(reason, str) else "").strip()
    if not reason:
        raise ValidationFailed(_l("Write why this photo is voided."), field="reason")
    if len(reason) > VOID_REASON_MAX:
        raise ValidationFailed(_l("A reason may be at most %(n)s characters.", n=VOID_REASON_MAX),
                               field="reason")
    before = audit.snapshot(attachment)
    attachment.voided = True
    attachment.void_reason = reason
    attachment.voided_by = user.username if user else None
    attachment.voided_at = utcnow()
    audit.record("void", attachment, before=before, family_id=attachment.family_id)
    if attachment.owner_table == "agreements" and attachment.kind == "scan":
        # The void in the agreement's own history, beside the scan's hash bound there; the
        # agreement's row is not touched (a signed version never changes).
        from fieldapp.agreements.models import Agreement

        agreement = db.session.get(Agreement, attachment.owner_id)
        if agreement is not None:
            audit.record("scan:void", agreement, before={},
                         after={"scan_sha256": attachment.sha256,
                                "attachment_id": str(attachment.id), "void_reason": reason},
                         family_id=attachment.family_id)
    return attachment


def load_family_community(family_id: uuid.UUID) -> uuid.UUID:
    """The community of an attachment's family (its scope).

    :raises NotFound: no such family here.
    """
    from fieldapp.families.models import Family

    community_id = db.session.execute(
        select(Family.community_id).where(Family.id == family_id)).scalar_one_or_none()
    if community_id is None:
        raise NotFound()
    return community_id


def request_original(attachment: Attachment) -> bool:
    """Central: ask the node that holds this file for it (its kind is not taken eagerly); it
    arrives at that node's next sync. Asking twice asks once.

    :returns: whether the request is new.
    :raises RequestRefused: not on central, or the file is here already.
    """
    if current_app.config["ROLE"] != "central":
        raise RequestRefused()
    check_write_scope(load_family_community(attachment.family_id))
    if current_storage().has(attachment.sha256):
        raise RequestRefused(_l("This file is here already."))
    if db.session.get(MediaRequest, attachment.sha256) is not None:
        return False
    user = current_user if current_user and current_user.is_authenticated else None
    db.session.add(MediaRequest(sha256=attachment.sha256,
                                requested_by=user.username if user else None))
    db.session.flush()
    return True


class RequestRefused(AppError):
    code = "request_refused"
    status = 409
    message = _l("Originals are requested on central.")
