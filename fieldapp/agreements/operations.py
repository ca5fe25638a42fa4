"""Drafting, signing, amending, renewing agreements and changing their status.

The rules live here, not in the forms: a view, the CLI or a replayed offline submission all get
the same refusals. Operations add and flush; the view commits once.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.agreements.content import canonical_content, content_hash
from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
)
from fieldapp.agreements.queries import family_agreements
from fieldapp.agreements.rules import (
    NEEDS_REASON,
    OPEN_STATUSES,
    TRANSITIONS,
    AgreementFrozen,
    status_label,
)
from fieldapp.agreements.signatures import add_signature, decode_signature
from fieldapp.audit.operations import record, snapshot
from fieldapp.codes import next_code
from fieldapp.errors import TransitionRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.models import utcnow
from fieldapp.submissions import local_today

MAX_QUANTITY = Decimal("1000000")


# -- drafts ------------------------------------------------------------------------------------
def _quantity(value: Any, field: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_l("Enter a number."), field=field) from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationFailed(_l("Enter a quantity above 0 and up to 1,000,000."), field=field)
    if quantity != quantity.quantize(Decimal("0.01")):
        raise ValidationFailed(_l("At most two decimals."), field=field)
    return quantity


def _clean_terms(data: dict[str, Any]) -> dict[str, Any]:
    """Check period, commitments and benefits of a draft; return them typed.

    ``data`` holds ``period_start``, ``period_end`` (dates), ``commitment_type_ids`` (ids) and
    ``benefits`` (dicts with ``benefit_type_id``, ``quantity``, ``unit``, ``schedule``, and an
    optional ``field`` prefix naming the form row for errors), and ``notes``.
    """
    start, end = data.get("period_start"), data.get("period_end")
    if not isinstance(start, date):
        raise ValidationFailed(_l("Enter the first day of the period."), field="period_start")
    if not isinstance(end, date):
        raise ValidationFailed(_l("Enter the last day of the period."), field="period_end")
    if end < start:
        raise ValidationFailed(_l("The period cannot end before it starts."), field="period_end")
    if (end - start).days > 3 * 366:
        raise ValidationFailed(_l("A period lasts at most three years."), field="period_end")
    if not 2000 <= start.year <= 2100:
        raise ValidationFailed(_l("Enter a year between 2000 and 2100."), field="period_start")
    notes = (data.get("notes") or "").strip() or None
    return {"start": start, "end": end, "notes": notes,
            "commitments": _clean_commitments(data.get("commitment_type_ids") or []),
            "benefits": _clean_benefits(data.get("benefits") or [])}


def _clean_commitments(raw_ids: list[Any]) -> list[CommitmentType]:
    ids = []
    for raw in raw_ids:
        try:
            ids.append(raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw)))
        except ValueError:
            raise ValidationFailed(_l("Choose commitments from the list."),
                                   field="commitments") from None
    commitment_types = [db.session.get(CommitmentType, i) for i in dict.fromkeys(ids)]
    if not commitment_types or any(c is None or c.voided for c in commitment_types):
        raise ValidationFailed(_l("Choose at least one commitment from the list."),
                               field="commitments")
    commitment_types.sort(key=lambda c: (c.position, c.code))
    return commitment_types


def _clean_benefits(rows: list[dict[str, Any]]) -> list[tuple[BenefitType, Decimal, str, str]]:
    benefits = []
    seen: set[uuid.UUID] = set()
    for row in rows:
        prefix = row.get("field") or "benefits"
        btype = db.session.get(BenefitType, row.get("benefit_type_id"))
        if btype is None or btype.voided:
            raise ValidationFailed(_l("Choose benefits from the list."), field=prefix)
        if btype.id in seen:
            raise ValidationFailed(_l("Each benefit appears once."), field=prefix)
        seen.add(btype.id)
        quantity = _quantity(row.get("quantity"), f"qty_{btype.code}")
        unit = " ".join(str(row.get("unit") or btype.default_unit).split())[:30]
        schedule = " ".join(str(row.get("schedule") or "").split())
        if len(schedule) > 120:
            raise ValidationFailed(_l("At most 120 characters."), field=f"schedule_{btype.code}")
        benefits.append((btype, quantity, unit, schedule))
    benefits.sort(key=lambda b: (b[0].position, b[0].code))
    return benefits


def _write_terms(agreement: Agreement, terms: dict[str, Any]) -> None:
    """Make the draft's commitments and benefits the given ones (old rows are voided)."""
    agreement.period_start, agreement.period_end = terms["start"], terms["end"]
    agreement.year = terms["start"].year
    agreement.notes = terms["notes"]
    existing_c = {c.commitment_type_id: c for c in agreement.commitments}
    wanted_c = {c.id for c in terms["commitments"]}
    for position, ctype in enumerate(terms["commitments"]):
        row = existing_c.get(ctype.id)
        if row is None:
            row = AgreementCommitment(commitment_type=ctype, text_es=ctype.text_es,
                                      text_en=ctype.text_en, position=position)
            agreement.commitments.append(row)
        row.voided, row.position = False, position
    for type_id, row in existing_c.items():
        if type_id not in wanted_c:
            row.voided = True
    existing_b = {b.benefit_type_id: b for b in agreement.benefits if not b.voided}
    for row in existing_b.values():
        row.voided = True
    for position, (btype, quantity, unit, schedule) in enumerate(terms["benefits"]):
        row = existing_b.get(btype.id)
        if row is not None:
            row.voided = False
            row.quantity, row.unit, row.schedule, row.position = quantity, unit, schedule, position
        else:
            agreement.benefits.append(AgreementBenefit(
                benefit_type=btype, quantity=quantity, unit=unit, schedule=schedule,
                position=position,
            ))


def _check_family(family: Family | None) -> Family:
    if family is None or family.voided:
        raise ValidationFailed(_l("Choose a family."), field="family_id")
    if family.status != "active":
        raise ValidationFailed(_l("This family has left the program."), field="family_id")
    return family


def _overlapping(family_id: uuid.UUID, start: date, end: date, statuses: tuple[str, ...],
                 ignore: tuple[uuid.UUID | None, ...] = ()) -> Agreement | None:
    for agreement in family_agreements(family_id):
        if (agreement.status in statuses and agreement.id not in ignore
                and agreement.period_start <= end and agreement.period_end >= start):
            return agreement
    return None


def _overlapping_open(family_id: uuid.UUID, start: date, end: date,
                      ignore: tuple[uuid.UUID, ...] = ()) -> Agreement | None:
    return _overlapping(family_id, start, end, OPEN_STATUSES, ignore)


def _clash_error(clash: Agreement) -> ValidationFailed:
    return ValidationFailed(
        _l("The family already has agreement %(number)s (%(status)s) for this period; "
           "amend or renew it instead.", number=clash.number, status=status_label(clash.status)),
        field="period_start",
    )


def _creator(agreement: Agreement, user: Any) -> None:
    if user is not None and getattr(user, "is_authenticated", False):
        agreement.created_by_id = user.id
        agreement.created_by_name = user.full_name


def create_agreement(family: Family | None, data: dict[str, Any], user: Any = None) -> Agreement:
    """Draft a family's (original) agreement from the catalogues.

    :param data: ``period_start``, ``period_end``, ``commitment_type_ids``, ``benefits``,
        ``notes`` (see :func:`_clean_terms`).
    :raises ValidationFailed: a rule is broken, or the family already has an open agreement for
        an overlapping period (amend or renew that one instead).
    """
    family = _check_family(family)
    terms = _clean_terms(data)
    clash = _overlapping_open(family.id, terms["start"], terms["end"])
    if clash is not None:
        raise _clash_error(clash)
    agreement = Agreement(
        number=next_code(year=terms["start"].year),
        family=family,
        family_id=family.id,
        status="draft",
        kind="original",
        version_no=1,
        status_changed_at=utcnow(),
    )
    _creator(agreement, user)
    db.session.add(agreement)
    _write_terms(agreement, terms)
    record("create", agreement, family_id=family.id)
    return agreement


def update_draft(agreement: Agreement, data: dict[str, Any]) -> Agreement:
    """Change a draft's period, commitments and benefits.

    :raises AgreementFrozen: the agreement is signed (or further along).
    :raises ValidationFailed: a rule is broken.
    """
    if agreement.status != "draft" or agreement.voided:
        raise AgreementFrozen()
    terms = _clean_terms(data)
    ignore = (agreement.id, agreement.supersedes_id) if agreement.supersedes_id else (agreement.id,)
    clash = _overlapping_open(agreement.family_id, terms["start"], terms["end"], ignore)
    if clash is not None and agreement.kind == "original":
        raise _clash_error(clash)
    before = snapshot(agreement)
    _write_terms(agreement, terms)
    record("update", agreement, before=before, family_id=agreement.family_id)
    return agreement


def discard_draft(agreement: Agreement) -> None:
    """Void a draft that will not be signed (signed versions are never discarded)."""
    if agreement.status != "draft" or agreement.voided:
        raise AgreementFrozen()
    before = snapshot(agreement)
    agreement.voided = True
    record("discard", agreement, before=before, family_id=agreement.family_id)


def _root_number(agreement: Agreement) -> str:
    root = agreement
    while root.kind == "amendment" and root.supersedes is not None:
        root = root.supersedes
    return root.number


def _copy_terms(base: Agreement, from_catalogue: bool) -> dict[str, Any]:
    commitments = [c.commitment_type for c in base.commitments if not c.voided]
    return {
        "commitment_type_ids": [c.id for c in commitments],
        "benefits": [
            {"benefit_type_id": b.benefit_type_id, "quantity": b.quantity, "unit": b.unit,
             "schedule": b.schedule}
            for b in base.benefits if not b.voided
        ],
        "notes": base.notes,
        "from_catalogue": from_catalogue,
    }


def _open_successor(base: Agreement, kind: str) -> Agreement | None:
    successors = db.session.execute(
        select(Agreement).where(Agreement.supersedes_id == base.id, Agreement.voided.is_(False))
    ).scalars()
    return next((a for a in successors if a.kind == kind and a.status in (
        "draft", "signed", "active", "suspended", "completed")), None)


def create_amendment(base: Agreement, user: Any = None) -> Agreement:
    """Start an amendment: a new draft version with the base's terms, linked to it.

    The base stays in force until the amendment is signed and activated.

    :raises TransitionRefused: the base is not signed or active, or already has an amendment.
    """
    if base.voided or base.status not in ("signed", "active"):
        raise TransitionRefused(
            _l("Only a signed or active agreement can be amended (this one is %(status)s).",
               status=status_label(base.status)))
    pending = _open_successor(base, "amendment")
    if pending is not None:
        raise TransitionRefused(
            _l("This agreement already has amendment %(number)s.", number=pending.number))
    version_no = base.version_no + 1
    agreement = Agreement(
        number=f"{_root_number(base)}-v{version_no}-{current_app.config['NODE_CODE']}",
        family=base.family,
        family_id=base.family_id,
        status="draft",
        kind="amendment",
        version_no=version_no,
        supersedes=base,
        supersedes_id=base.id,
        status_changed_at=utcnow(),
    )
    _creator(agreement, user)
    db.session.add(agreement)
    terms = _copy_terms(base, from_catalogue=False)
    # An amendment starts from the signed texts, not from today's catalogue.
    agreement.period_start, agreement.period_end = base.period_start, base.period_end
    agreement.year, agreement.notes = base.year, terms["notes"]
    for position, c in enumerate(c for c in base.commitments if not c.voided):
        agreement.commitments.append(AgreementCommitment(
            commitment_type_id=c.commitment_type_id, commitment_type=c.commitment_type,
            text_es=c.text_es, text_en=c.text_en, position=position))
    for position, b in enumerate(b for b in base.benefits if not b.voided):
        agreement.benefits.append(AgreementBenefit(
            benefit_type_id=b.benefit_type_id, benefit_type=b.benefit_type, quantity=b.quantity,
            unit=b.unit, schedule=b.schedule, position=position))
    record("amend", agreement, family_id=base.family_id)
    return agreement


def create_renewal(base: Agreement, user: Any = None) -> Agreement:
    """Start the next period's agreement: a new number, today's catalogue texts, same benefits.

    :raises TransitionRefused: the base is not active or completed, or was already renewed.
    """
    if base.voided or base.status not in ("active", "completed"):
        raise TransitionRefused(
            _l("Only an active or completed agreement can be renewed (this one is %(status)s).",
               status=status_label(base.status)))
    pending = _open_successor(base, "renewal")
    if pending is not None:
        raise TransitionRefused(
            _l("This agreement was already renewed as %(number)s.", number=pending.number))
    length = base.period_end - base.period_start
    start = base.period_end + timedelta(days=1)
    end = start + length
    if (start.month, start.day) == (1, 1) and (end.month, end.day) != (12, 31):
        end = date(start.year, 12, 31)  # calendar-year periods stay calendar years
    terms = _clean_terms({**_copy_terms(base, from_catalogue=True),
                          "period_start": start, "period_end": end})
    agreement = Agreement(
        number=next_code(year=start.year),
        family=base.family,
        family_id=base.family_id,
        status="draft",
        kind="renewal",
        version_no=1,
        supersedes=base,
        supersedes_id=base.id,
        status_changed_at=utcnow(),
    )
    _creator(agreement, user)
    db.session.add(agreement)
    _write_terms(agreement, terms)
    record("renew", agreement, family_id=base.family_id)
    return agreement


# -- signing -----------------------------------------------------------------------------------
def _float_or_none(value: Any, low: float, high: float, field: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Enter a number."), field=field) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValidationFailed(_l("Between %(low)s and %(high)s.", low=low, high=high), field=field)
    return number


def _name(value: Any, field: str, required: bool) -> str | None:
    name = " ".join(str(value or "").split())
    if len(name) > 120:
        raise ValidationFailed(_l("At most 120 characters."), field=field)
    if required and not name:
        raise ValidationFailed(_l("This field is required."), field=field)
    return name or None


def _signing_time_and_images(agreement: Agreement, mode: str, data: dict[str, Any],
                             witness_name: str | None) -> tuple[datetime, dict[str, Any]]:
    """When it was signed, and the checked images (none when signed on paper)."""
    if mode == "paper":
        day = data.get("paper_date")
        if not isinstance(day, date):
            raise ValidationFailed(_l("Enter the date written on the paper."), field="paper_date")
        if day > local_today():
            raise ValidationFailed(_l("The date cannot be in the future."), field="paper_date")
        zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "America/Lima")
        signed_at = datetime.combine(day, time(12, 0), tzinfo=zone).astimezone(UTC)
        images = {"family": None, "staff": None, "witness": None}
    else:
        signed_at = utcnow()
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
    lat = _float_or_none(data.get("lat"), -90, 90, "lat")
    lon = _float_or_none(data.get("lon"), -180, 180, "lon")
    if (lat is None) != (lon is None):
        raise ValidationFailed(_l("Give both latitude and longitude, or neither."), field="lat")
    dni = (data.get("family_dni") or "").strip() or agreement.family.dni
    if dni is not None and not (len(dni) == 8 and dni.isdigit()):
        raise ValidationFailed(_l("A DNI has exactly 8 digits."), field="family_dni")

    signed_at, images = _signing_time_and_images(agreement, mode, data, witness_name)
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
    if not agreement.signed_content or not agreement.content_hash:
        return False
    return content_hash(agreement.signed_content) == agreement.content_hash


# -- status ------------------------------------------------------------------------------------
def change_status(agreement: Agreement, to: str, reason: str | None = None) -> Agreement:
    """Move an agreement along the status machine (see :mod:`fieldapp.agreements.rules`).

    Activating an amendment marks the version it replaces ``superseded``. A renewal leaves the
    previous period's agreement alone (a coordinator completes it when its period ends), so
    deliveries of the current period keep their agreement.

    :raises TransitionRefused: the change is not allowed from the current status.
    :raises ValidationFailed: a suspension or termination without a reason.
    """
    current = agreement.status
    if to == "signed" and current == "draft":
        raise TransitionRefused(_l("A draft becomes signed only by signing it."))
    if agreement.voided or to not in TRANSITIONS.get(current, frozenset()):
        raise TransitionRefused(
            _l("Agreement %(number)s cannot go from %(current)s to %(to)s.",
               number=agreement.number, current=status_label(current), to=status_label(to)),
            current=current, to=to,
        )
    reason = " ".join((reason or "").split()) or None
    if to in NEEDS_REASON and not reason:
        raise ValidationFailed(_l("Write the reason."), field="reason")
    if reason and len(reason) > 500:
        raise ValidationFailed(_l("At most 500 characters."), field="reason")
    if to == "active" and current == "signed":
        _check_activation(agreement)
    before = snapshot(agreement)
    agreement.status = to
    agreement.status_reason = reason
    agreement.status_changed_at = utcnow()
    record(f"status:{to}", agreement, before=before, family_id=agreement.family_id)
    if to == "active" and current == "signed" and agreement.kind == "amendment":
        _retire_previous(agreement)
    return agreement


def _check_activation(agreement: Agreement) -> None:
    if not verify_content(agreement):
        raise TransitionRefused(_l("The signed content does not match its hash; it cannot be "
                                   "activated."))
    previous = agreement.supersedes
    if agreement.kind == "amendment" and previous is not None and previous.status not in (
        "signed", "active"
    ):
        raise TransitionRefused(
            _l("The version it amends, %(number)s, is %(status)s; this amendment cannot take "
               "its place.", number=previous.number, status=status_label(previous.status)))
    if agreement.kind == "renewal" and previous is not None and previous.status in (
        "suspended", "terminated"
    ):
        raise TransitionRefused(
            _l("The previous agreement %(number)s is %(status)s; it cannot be renewed.",
               number=previous.number, status=status_label(previous.status)))
    clash = _overlapping(agreement.family_id, agreement.period_start, agreement.period_end,
                         ("active", "suspended"), (agreement.id, agreement.supersedes_id))
    if clash is not None:
        raise TransitionRefused(
            _l("Agreement %(number)s is already in force for this period.", number=clash.number))


def _retire_previous(agreement: Agreement) -> None:
    previous = agreement.supersedes
    if previous is None:
        return
    before = snapshot(previous)
    previous.status = "superseded"
    previous.status_reason = None
    previous.status_changed_at = utcnow()
    record("status:superseded", previous, before=before, family_id=previous.family_id)


# -- reading helpers used by other domains -----------------------------------------------------
def agreement_for_delivery(family_id: uuid.UUID, on: date) -> Agreement | None:
    """The family's active agreement in force on ``on`` (the latest started), if any."""
    return next((a for a in family_agreements(family_id)
                 if a.status == "active" and a.period_start <= on), None)


def current_agreement(family_id: uuid.UUID) -> Agreement | None:
    """The family's agreement that matters now: the newest in force, else the newest at all."""
    rows = family_agreements(family_id)
    for wanted in (("active",), ("suspended",), ("signed",), ("draft",)):
        for agreement in rows:
            if agreement.status in wanted:
                return agreement
    return rows[0] if rows else None
