"""Signing a draft: signatures drawn on the tablet or on paper, frozen content and its hash."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from fieldapp.agreements.content import canonical_content, content_hash, content_verifies
from fieldapp.agreements.models import Agreement
from fieldapp.agreements.queries import overlapping_agreement
from fieldapp.agreements.rules import OPEN_STATUSES, period_on_signing, status_label
from fieldapp.agreements.signatures import add_signature, decode_signature
from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.errors import TransitionRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.formatting import format_day, program_timezone
from fieldapp.forms import parse_position
from fieldapp.models import utcnow
from fieldapp.submissions import local_date, local_today


def _name(value: Any, field: str, required: bool) -> str | None:
    name = " ".join(str(value or "").split())
    if len(name) > 120:
        raise ValidationFailed(_l("At most 120 characters."), field=field)
    if required and not name:
        raise ValidationFailed(_l("This field is required."), field=field)
    return name or None


def drawing_time(value: Any) -> datetime:
    """When the pads were drawn: the tablet's time (an ISO timestamp with its offset) when it
    lies within the last ``SIGNATURE_MAX_DELAY_DAYS`` and is not in the future; the node's time
    otherwise (no value, not a time, a tablet clock that is off). A signature drawn offline
    reaches the node when the tablet next finds it, a day or two later: the printed agreement
    carries the day it was signed, not the day it arrived."""
    now = utcnow()
    try:
        drawn = datetime.fromisoformat(str(value or "").strip())
    except ValueError:
        return now
    if drawn.tzinfo is None:
        return now
    drawn = drawn.astimezone(UTC)
    days = float(current_app.config.get("SIGNATURE_MAX_DELAY_DAYS", 14))
    if drawn > now or drawn < now - timedelta(days=days):
        return now
    return drawn


def _signing_time_and_images(agreement: Agreement, mode: str, data: dict[str, Any],
                             witness_name: str | None) -> tuple[datetime, dict[str, Any]]:
    """When it was signed, and the checked images (none when signed on paper)."""
    if mode == "paper":
        day = data.get("paper_date")
        if not isinstance(day, date):
            raise ValidationFailed(_l("Enter the date written on the paper."), field="paper_date")
        if day > local_today():
            raise ValidationFailed(_l("The date cannot be in the future."), field="paper_date")
        zone = ZoneInfo(program_timezone())
        signed_at = datetime.combine(day, time(12, 0), tzinfo=zone).astimezone(UTC)
        images = {"family": None, "staff": None, "witness": None}
    else:
        signed_at = drawing_time(data.get("drawn_at"))
        images = {
            "family": decode_signature(data.get("family_signature"), "family_signature"),
            "staff": decode_signature(data.get("staff_signature"), "staff_signature"),
            "witness": None,
        }
        if data.get("witness_signature"):
            if not witness_name:
                raise ValidationFailed(_l("Write the witness's name."), field="witness_name")
            images["witness"] = decode_signature(data["witness_signature"], "witness_signature")
        elif witness_name:
            raise ValidationFailed(_l("The witness signs on the pad too."),
                                   field="witness_signature")
    return signed_at, images


def sign_agreement(agreement: Agreement, data: dict[str, Any]) -> Agreement:
    """Sign a draft: store the signatures, freeze its content and store the content hash.

    :param data: ``mode`` (``pad`` or ``paper``); ``family_name``, ``family_dni``,
        ``staff_name``, ``witness_name``; for ``pad`` the data URLs ``family_signature``,
        ``staff_signature``, ``witness_signature``; for ``paper`` ``paper_date``; ``place``,
        ``lat``, ``lon``.
    :raises TransitionRefused: the agreement is not a draft.
    :raises ValidationFailed: a missing or invalid signature, name, date or place.
    """
    check_write_scope(agreement.family.community_id)
    if agreement.voided or agreement.status != "draft":
        raise TransitionRefused(
            _l("Agreement %(number)s is already %(status)s; a signed version is never signed "
               "again. Make an amendment instead.", number=agreement.number,
               status=status_label(agreement.status)))
    if not any(not c.voided for c in agreement.commitments):
        raise TransitionRefused(_l("Add at least one commitment before signing."))
    mode = data.get("mode")
    if mode not in ("pad", "paper"):
        raise ValidationFailed(_l("Choose how the agreement was signed."), field="mode")
    family_name = _name(data.get("family_name"), "family_name", True)
    staff_name = _name(data.get("staff_name"), "staff_name", True)
    witness_name = _name(data.get("witness_name"), "witness_name", False)
    place = _name(data.get("place"), "place", mode == "pad")
    lat, lon = parse_position(data)
    dni = (data.get("family_dni") or "").strip() or agreement.family.dni
    if dni is not None and not (len(dni) == 8 and dni.isdigit()):
        raise ValidationFailed(_l("A DNI has exactly 8 digits."), field="family_dni")

    signed_at, images = _signing_time_and_images(agreement, mode, data, witness_name)
    start, end = period_on_signing(agreement, local_date(signed_at))
    if start != agreement.period_start:
        clash = overlapping_agreement(agreement.family_id, start, end, OPEN_STATUSES,
                                      (agreement.id,))
        if clash is not None:
            raise TransitionRefused(
                _l("Signed today, this agreement would run from %(start)s and overlap agreement "
                   "%(number)s. Change the draft's period first.", start=format_day(start),
                   number=clash.number))
    before = snapshot(agreement)
    signers = [("family", family_name, dni), ("staff", staff_name, None)]
    if witness_name:
        signers.append(("witness", witness_name, None))
    # One flush for the whole signing: once ``status`` is flushed as signed, the guard in
    # rules.py refuses any further change to the frozen columns, so nothing may flush midway.
    with db.session.no_autoflush:
        for role, name, signer_dni in signers:
            agreement.signatures.append(add_signature(
                role=role, name=name, dni=signer_dni, signed_at=signed_at, image=images[role],
                agreement_id=agreement.id, place=place, lat=lat, lon=lon,
            ))
        # Never backdated: a draft signed after the day its period was to start starts today.
        agreement.period_start, agreement.period_end = start, end
        agreement.year = start.year
        agreement.signed_at = signed_at
        agreement.signed_place = place
        agreement.signed_lat, agreement.signed_lon = lat, lon
        agreement.signed_on_paper = mode == "paper"
        agreement.status = "signed"
        agreement.status_changed_at = utcnow()
        agreement.status_reason = None
        content = canonical_content(agreement)
        agreement.signed_content = content
        agreement.content_hash = content_hash(content)
    record("status:signed", agreement, before=before, family_id=agreement.family_id)
    return agreement


def verify_content(agreement: Agreement) -> bool:
    """Whether the stored content still hashes to the stored content hash."""
    return content_verifies(agreement.signed_content, agreement.content_hash)
