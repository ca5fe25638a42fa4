"""Recording compliance visits and deciding sanctions.

A breach found on a visit proposes the next graduated sanction (warning → reduced benefits →
suspension → termination, by the family's confirmed sanctions of the last two years). A
coordinator confirms or dismisses it; confirming a suspension or termination changes the
agreement's status, and with it what can be delivered.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from fieldapp.agreements.models import Agreement, AgreementCommitment
from fieldapp.agreements.operations import change_status
from fieldapp.agreements.queries import family_agreements
from fieldapp.agreements.rules import status_label
from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.codes import next_code
from fieldapp.compliance.models import (
    FINDING_RESULTS,
    SANCTION_LEVELS,
    ComplianceVisit,
    Sanction,
    VisitFinding,
)
from fieldapp.compliance.rules import LEVEL_LABELS, SANCTION_MEMORY_DAYS, next_level
from fieldapp.errors import AppError, TransitionRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.formatting import format_day
from fieldapp.forms import parse_position
from fieldapp.models import new_id, utcnow
from fieldapp.submissions import local_today

VISITABLE = ("signed", "active", "suspended", "completed")


class VisitRefused(AppError):
    code = "visit_refused"
    status = 409
    message = _l("This visit cannot be recorded.")


class SanctionDecided(AppError):
    code = "sanction_decided"
    status = 409
    message = _l("This sanction was already decided.")


def visit_agreement(family_id: uuid.UUID) -> Agreement | None:
    """The agreement a new visit checks: the family's newest signed one still binding it."""
    return next((a for a in family_agreements(family_id) if a.status in VISITABLE), None)


def _check_visit(family: Family, agreement: Agreement | None, data: dict[str, Any]) -> date:
    if agreement is None or agreement.voided or agreement.family_id != family.id:
        raise VisitRefused(_l("This family has no signed agreement to check."))
    if agreement.status not in VISITABLE:
        raise VisitRefused(
            _l("Agreement %(number)s is %(status)s; there is nothing to check.",
               number=agreement.number, status=status_label(agreement.status)),
            status=agreement.status)
    visited_on = data.get("visited_on")
    if not isinstance(visited_on, date):
        raise ValidationFailed(_l("Enter the date of the visit."), field="visited_on")
    if visited_on > local_today():
        raise ValidationFailed(_l("A visit cannot be dated in the future."), field="visited_on")
    if visited_on < agreement.period_start:
        raise ValidationFailed(
            _l("Agreement %(number)s started on %(start)s; a visit cannot be earlier.",
               number=agreement.number, start=agreement.period_start.isoformat()),
            field="visited_on")
    return visited_on


def record_visit(family: Family, agreement: Agreement | None, data: dict[str, Any],
                 user: Any = None) -> ComplianceVisit:
    """Record a monitoring visit with a finding per commitment; a breach proposes a sanction.

    :param data: ``visited_on``, ``monitor_name``, ``lat``, ``lon``, ``notes`` and ``findings``
        (``{agreement commitment id: (result, notes)}``; a missing commitment is "not checked").
    :raises VisitRefused: no signed agreement, or it was terminated or replaced.
    :raises ValidationFailed: a future date, a date before the agreement started, bad GPS or
        an unknown result.
    """
    check_write_scope(family.community_id, "family")
    visited_on = _check_visit(family, agreement, data)
    assert agreement is not None
    monitor = " ".join(str(data.get("monitor_name") or "").split())
    if not monitor or len(monitor) > 120:
        raise ValidationFailed(_l("Write who made the visit."), field="monitor_name")
    lat, lon = parse_position(data)
    commitments = agreement_commitments(agreement.id)
    known = {c.id for c in commitments}
    findings = data.get("findings") or {}
    for commitment_id, (result, note) in findings.items():
        field = f"result_{getattr(commitment_id, 'hex', commitment_id)}"
        if commitment_id not in known:
            raise ValidationFailed(_l("This commitment is not part of the agreement."), field=field)
        if result not in FINDING_RESULTS:
            raise ValidationFailed(_l("Choose a result."), field=field)
        if note and len(note) > 1000:
            raise ValidationFailed(_l("At most %(n)s characters.", n=1000),
                                   field=f"note_{commitment_id.hex}")
    visit = ComplianceVisit(
        id=new_id(), code=next_code("V", width=5), family_id=family.id, agreement_id=agreement.id,
        visited_on=visited_on, monitor_id=getattr(user, "id", None), monitor_name=monitor,
        lat=lat, lon=lon, notes=(data.get("notes") or "").strip() or None,
    )
    db.session.add(visit)
    results = {}
    breached = []
    english = str(get_locale() or "es").startswith("en")
    for commitment in commitments:
        result, note = findings.get(commitment.id, ("not_checked", None))
        db.session.add(VisitFinding(visit_id=visit.id, agreement_commitment_id=commitment.id,
                                    result=result, notes=(note or "").strip() or None))
        results[commitment.commitment_type.code] = result
        if result == "breached":  # the reason names the commitment in words, never its code
            breached.append(commitment.text_en if english else commitment.text_es)
    record("create", visit, after={**snapshot_visit(visit), "findings": results},
           family_id=family.id)
    if breached:
        propose_sanction(visit, agreement, breached)
    return visit


def agreement_commitments(agreement_id: uuid.UUID) -> list[AgreementCommitment]:
    """An agreement's commitments with their catalogue entries, in their order (one query)."""
    rows = db.session.execute(
        select(AgreementCommitment)
        .options(joinedload(AgreementCommitment.commitment_type))
        .where(AgreementCommitment.agreement_id == agreement_id,
               AgreementCommitment.voided.is_(False))
    ).scalars().all()
    return sorted(rows, key=lambda c: (c.position, c.text_es))


def snapshot_visit(visit: ComplianceVisit) -> dict[str, Any]:
    """The visit's columns for the audit log."""
    db.session.flush()
    return snapshot(visit)


def highest_confirmed(family_id: uuid.UUID, on: date) -> str | None:
    """The highest sanction confirmed for the family in the last two years before ``on``."""
    since = on - timedelta(days=SANCTION_MEMORY_DAYS)
    levels = set(db.session.execute(
        select(Sanction.level)
        .join(ComplianceVisit, ComplianceVisit.id == Sanction.visit_id, isouter=True)
        .where(Sanction.family_id == family_id, Sanction.status == "confirmed",
               Sanction.voided.is_(False),
               (ComplianceVisit.visited_on.is_(None)) | (ComplianceVisit.visited_on >= since))
    ).scalars())
    ranked = [level for level in SANCTION_LEVELS if level in levels]
    return ranked[-1] if ranked else None


def propose_sanction(visit: ComplianceVisit, agreement: Agreement,
                     breached: list[str]) -> Sanction | None:
    """Propose the next graduated sanction for a breach, unless one already awaits a decision.

    :param breached: the texts of the commitments breached, as the family's agreement words them.
    """
    pending = db.session.execute(
        select(Sanction).where(Sanction.agreement_id == agreement.id,
                               Sanction.status == "proposed", Sanction.voided.is_(False)).limit(1)
    ).scalar_one_or_none()
    if pending is not None:
        return None
    level = next_level(highest_confirmed(visit.family_id, visit.visited_on))
    sanction = Sanction(
        family_id=visit.family_id, agreement_id=agreement.id, visit_id=visit.id, level=level,
        status="proposed",
        reason=str(_l("Breach found on visit %(code)s (%(date)s): %(what)s.", code=visit.code,
                      date=format_day(visit.visited_on), what="; ".join(breached))),
    )
    db.session.add(sanction)
    record("sanction:propose", sanction, family_id=visit.family_id)
    return sanction


def _in_force(agreement: Agreement) -> Agreement:
    """The version a sanction applies to: the agreement, or the amendment that replaced it."""
    seen = {agreement.id}
    while agreement.status == "superseded":
        successor = next((a for a in db.session.execute(
            select(Agreement).where(Agreement.supersedes_id == agreement.id,
                                    Agreement.voided.is_(False))).scalars()
            if a.kind == "amendment" and a.status in ("active", "suspended")), None)
        if successor is None or successor.id in seen:
            break
        seen.add(successor.id)
        agreement = successor
    return agreement


def _decide(sanction: Sanction, status: str, user: Any, notes: Any) -> dict[str, Any]:
    check_write_scope(sanction.family.community_id)
    if sanction.voided or sanction.status != "proposed":
        raise SanctionDecided()
    notes = (str(notes or "")).strip() or None
    if notes and len(notes) > 1000:
        raise ValidationFailed(_l("At most %(n)s characters.", n=1000), field="notes")
    before = snapshot(sanction)
    sanction.status = status
    sanction.decided_by_id = getattr(user, "id", None)
    sanction.decided_by_name = getattr(user, "full_name", None)
    sanction.decided_at = utcnow()
    sanction.decision_notes = notes
    return before


def confirm_sanction(sanction: Sanction, user: Any = None, notes: Any = None) -> Sanction:
    """Confirm a proposed sanction; a suspension or termination changes the agreement's status.

    :raises SanctionDecided: it was confirmed or dismissed already.
    :raises TransitionRefused: the agreement's status does not allow the sanction.
    """
    before = _decide(sanction, "confirmed", user, notes)
    agreement = _in_force(sanction.agreement)
    reason = str(_l("Sanction confirmed: %(level)s. %(reason)s",
                    level=LEVEL_LABELS[sanction.level], reason=sanction.reason or ""))[:500]
    if sanction.level == "suspension" and agreement.status != "suspended":
        if agreement.status != "active":
            raise TransitionRefused(
                _l("Agreement %(number)s is %(status)s; it cannot be suspended.",
                   number=agreement.number, status=status_label(agreement.status)))
        change_status(agreement, "suspended", reason)
    elif sanction.level == "termination":
        if agreement.status not in ("active", "suspended"):
            raise TransitionRefused(
                _l("Agreement %(number)s is %(status)s; it cannot be terminated.",
                   number=agreement.number, status=status_label(agreement.status)))
        change_status(agreement, "terminated", reason)
    record("sanction:confirm", sanction, before=before, family_id=sanction.family_id)
    return sanction


def dismiss_sanction(sanction: Sanction, user: Any = None, notes: Any = None) -> Sanction:
    """Dismiss a proposed sanction (the breach stays recorded on the visit).

    :raises SanctionDecided: it was confirmed or dismissed already.
    """
    before = _decide(sanction, "dismissed", user, notes)
    record("sanction:dismiss", sanction, before=before, family_id=sanction.family_id)
    return sanction
