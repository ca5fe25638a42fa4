"""Is a printed agreement the registered signed version? (What central's /verify page says.)

The QR of a printed agreement holds its id and content hash. The verdict recomputes the hash
from the content frozen at signing and compares it with both the stored hash and the printed
one; any difference means the copy, or the record, is not the registered signed text.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from fieldapp.agreements.content import content_hash
from fieldapp.agreements.models import Agreement
from fieldapp.agreements.rules import SET_ASIDE, is_set_aside, kept_version
from fieldapp.extensions import db
from fieldapp.families.privacy import hides_personal_data
from fieldapp.media.queries import has_scan

VALID, SUPERSEDED, NOT_MATCHING, UNKNOWN = "valid", "superseded", "not_matching", "unknown"
#: A competing version a coordinator did not keep: registered, but not the agreement.
SET_ASIDE_VERDICT = SET_ASIDE
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Verdict:
    """What the verification page shows: only what a verifier needs."""

    status: str
    number: str | None = None
    version_no: int | None = None
    agreement_status: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    community: str | None = None
    initials: str | None = None
    superseded_by: str | None = None
    #: For a set-aside version: the number and version of the one kept (nothing more).
    kept_number: str | None = None
    kept_version_no: int | None = None
    fingerprint: str | None = None
    #: Whether a scan of the paper copy signed in ink is on record (never shown here).
    signed_scan: bool = False


def initials(name: str) -> str:
    """The initials of a name, as "M. H. T." (a verifier needs no more)."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part[:1].isalpha())


def _successor(agreement: Agreement) -> str | None:
    """The number of a later signed version that replaces ``agreement`` (an amendment or
    renewal); a competing version set aside by a coordinator replaces nothing. (The number
    alone: a whole agreement carries its signed content, and /verify is hit by every phone.)"""
    return db.session.execute(_SUCCESSOR, {"agreement": agreement.id}).scalar_one_or_none()


#: Built once: /verify asks it on every request.
_SUCCESSOR = (
    select(Agreement.number)
    .where(Agreement.supersedes_id == bindparam("agreement"), Agreement.voided.is_(False),
           Agreement.content_hash.is_not(None),
           or_(Agreement.conflict_flag.is_(None), Agreement.conflict_flag != SET_ASIDE))
    .order_by(Agreement.version_no.desc(), Agreement.created_at.desc())
    .limit(1)
)


def verify_agreement(agreement_id: str, printed_hash: str) -> Verdict:
    """The verdict on a printed agreement with ``agreement_id`` and ``printed_hash`` (its QR)."""
    try:
        key = uuid.UUID(agreement_id)
    except (ValueError, AttributeError, TypeError):
        return Verdict(UNKNOWN)
    # The family with it (its consent decides the initials): one query, not two.
    agreement = db.session.get(Agreement, key, options=[joinedload(Agreement.family)])
    if (agreement is None or agreement.voided or not agreement.content_hash
            or not agreement.signed_content):
        return Verdict(UNKNOWN)
    content: Any = agreement.signed_content
    printed = (printed_hash or "").strip().lower()
    try:
        recomputed = content_hash(content) if isinstance(content, dict) else ""
    except (TypeError, ValueError):
        recomputed = ""
    if (not _HEX64.fullmatch(printed) or recomputed != agreement.content_hash
            or printed != agreement.content_hash or str(content.get("id")) != str(agreement.id)):
        # Only the number: the rest may be what was altered.
        return Verdict(NOT_MATCHING, number=agreement.number)
    successor = _successor(agreement)
    status = SUPERSEDED if successor is not None or agreement.status == "superseded" else VALID
    kept = None
    if is_set_aside(agreement):  # the rule of the agreements domain, not a second one here
        status, kept = SET_ASIDE_VERDICT, kept_version(agreement)
    family = content.get("family") if isinstance(content.get("family"), dict) else {}
    period = content.get("period") if isinstance(content.get("period"), dict) else {}
    community = content.get("community") if isinstance(content.get("community"), dict) else {}
    return Verdict(
        status=status,
        number=str(content.get("number") or agreement.number),
        version_no=content.get("version_no"),
        agreement_status=agreement.status,
        period_start=_date(period.get("start")),
        period_end=_date(period.get("end")),
        community=community.get("name"),
        initials=("" if hides_personal_data(agreement.family)
                  else initials(str(family.get("head_name") or ""))),
        superseded_by=successor,
        kept_number=kept.number if kept is not None else None,
        kept_version_no=kept.version_no if kept is not None else None,
        fingerprint=agreement.content_hash[:16],
        signed_scan=has_scan(agreement.id),
    )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
