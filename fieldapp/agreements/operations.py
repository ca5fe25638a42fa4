"""Drafting, signing, amending, renewing agreements and changing their status.

The rules live here, not in the forms: a view, the CLI or a replayed offline submission all get
the same refusals. Operations add and flush; the view commits once.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
)
from fieldapp.agreements.queries import overlapping_agreement
from fieldapp.agreements.rules import (
    OPEN_STATUSES,
    AgreementFrozen,
    status_label,
)
from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.codes import next_code
from fieldapp.errors import TransitionRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.models import utcnow
from fieldapp.submissions import chosen_record_id

MAX_QUANTITY = Decimal("1000000")


# -- drafts ------------------------------------------------------------------------------------
def parse_quantity(value: Any, field: str) -> Decimal:
    """A typed quantity (above 0, at most 1,000,000, two decimals) as a ``Decimal``.

    :raises ValidationFailed: naming ``field``, the form field to mark.
    """
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
            "starts_on_signing": bool(data.get("starts_on_signing")),
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
        quantity = parse_quantity(row.get("quantity"), f"qty_{btype.code}")
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
    agreement.starts_on_signing = terms["starts_on_signing"]
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
    check_write_scope(family.community_id, "family_id")
    return family


def _overlapping_open(family_id: uuid.UUID, start: date, end: date,
                      ignore: tuple[uuid.UUID, ...] = ()) -> Agreement | None:
    return overlapping_agreement(family_id, start, end, OPEN_STATUSES, ignore)


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
        ``notes`` (see :func:`_clean_terms`), and ``record_id`` (the id a tablet made for a
        draft made offline; empty: a new one).
    :raises ValidationFailed: a rule is broken, the family already has an open agreement for
        an overlapping period (amend or renew that one instead), or the chosen id is malformed.
    :raises RecordIdTaken: another record holds the chosen id.
    """
    family = _check_family(family)
    terms = _clean_terms(data)
    clash = _overlapping_open(family.id, terms["start"], terms["end"])
    if clash is not None:
        raise _clash_error(clash)
    record_id = chosen_record_id(data.get("record_id"), Agreement)
    agreement = Agreement(
        number=next_code(year=terms["start"].year),
        family=family,
        family_id=family.id,
        status="draft",
        kind="original",
        version_no=1,
        status_changed_at=utcnow(),
    )
    if record_id is not None:
        agreement.id = record_id
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
    check_write_scope(agreement.family.community_id)
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
    check_write_scope(agreement.family.community_id)
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
    check_write_scope(base.family.community_id)
    if base.voided or base.status not in ("signed", "active"):
        raise TransitionRefused(
            _l("Only a signed or active agreement can be amended (this one is %(status)s).",
               status=status_label(base.status)))
    pending = _open_successor(base, "amendment")
    if pending is not None:
        raise TransitionRefused(
            _l("This agreement already has amendment %(number)s.", number=pending.number))
    version_no = base.version_no + 1
    # Read before the new version is in the session: loading the base's terms autoflushed the
    # half-built amendment (no period yet) when they were not loaded already.
    terms = _copy_terms(base, from_catalogue=False)
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
    check_write_scope(base.family.community_id)
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


# Signing, status changes and the reading helpers live in their own modules; they are named here
# too because other domains (and the PWA's and printing's code) import them from operations.
from fieldapp.agreements.queries import agreement_for_delivery, current_agreement  # noqa: E402
from fieldapp.agreements.signing import sign_agreement, verify_content  # noqa: E402
from fieldapp.agreements.transitions import change_status  # noqa: E402

__all__ = [
    "agreement_for_delivery", "change_status", "create_agreement", "create_amendment",
    "create_renewal", "current_agreement", "discard_draft", "sign_agreement", "update_draft",
    "verify_content",
]
