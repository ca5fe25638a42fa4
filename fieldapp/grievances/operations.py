"""Recording a grievance and moving it through its steps.

Every step checks the workflow (:mod:`fieldapp.grievances.rules`), who may take it, and writes
a :class:`GrievanceStep` and an audit entry in the same transaction. Nothing is ever deleted: a
grievance ends withdrawn by the complainant or closed with a reason. A confidential grievance's
audit entries leave out its description, its family and the staff member it names.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.agreements.models import Agreement
from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.auth.models import User
from fieldapp.codes import next_code
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, Sanction
from fieldapp.deliveries.models import Delivery
from fieldapp.errors import AppError, Forbidden, TransitionRefused, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.grievances import rules
from fieldapp.grievances.access import named_in, place_of
from fieldapp.grievances.catalogue import categories
from fieldapp.grievances.models import CHANNELS, Grievance, GrievanceStep
from fieldapp.labels import label
from fieldapp.models import new_id, utcnow
from fieldapp.submissions import local_today, parse_uuid

#: The longest description, answer, note or reason accepted.
TEXT_MAX = 4000
#: Audit entries of a confidential grievance leave these out (audit entries travel up to
#: central and show on history pages).
CONFIDENTIAL_COLUMNS = ("description", "family_id", "staff_username", "staff_name",
                        "related_id", "answer", "action_taken", "closing_reason")
#: The record a grievance may be about, by kind.
RELATED_MODELS: dict[str, Any] = {"agreement": Agreement, "delivery": Delivery,
                                  "sanction": Sanction, "visit": ComplianceVisit}


class GrievanceRefused(AppError):
    code = "grievance_refused"
    status = 409
    message = _l("This cannot be done with a grievance.")


def _text(value: Any, field: str, required: Any = None) -> str | None:
    text = str(value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(required, field=field)
        return None
    if len(text) > TEXT_MAX:
        raise ValidationFailed(_l("At most %(n)s characters.", n=TEXT_MAX), field=field)
    return text


def audit_snapshot(grievance: Grievance) -> dict[str, Any]:
    """The grievance's columns for the audit log (a confidential one's details left out)."""
    db.session.flush()
    values = snapshot(grievance)
    if grievance.confidential:
        for column in CONFIDENTIAL_COLUMNS:
            values.pop(column, None)
    return values


def _audit(action: str, grievance: Grievance, before: dict[str, Any] | None) -> None:
    record(action, grievance, before=before, after=audit_snapshot(grievance),
           family_id=None if grievance.confidential else grievance.family_id)


def _related(family: Family | None, raw: Any) -> tuple[str | None, uuid.UUID | None]:
    """``"<kind>:<id>"`` as the record it names, checked to be the family's."""
    if not raw:
        return None, None
    kind, _sep, value = str(raw).partition(":")
    model = RELATED_MODELS.get(kind)
    record_id = parse_uuid(value)
    if model is None or record_id is None:
        raise ValidationFailed(_l("Choose a record of the list."), field="related")
    if family is None:
        raise ValidationFailed(_l("An anonymous grievance names no family's record."),
                               field="related")
    found = db.session.get(model, record_id)
    if found is None or found.voided or found.family_id != family.id:
        raise ValidationFailed(_l("This record is not one of the family's."), field="related")
    return kind, record_id


def record_grievance(data: dict[str, Any], user: Any = None) -> Grievance:
    """Record a grievance as received, with its due dates.

    :param data: ``family`` (a :class:`Family`, or ``None`` for an anonymous grievance),
        ``community`` (an anonymous grievance's :class:`Community`), ``channel``, ``category``,
        ``description``, ``related`` (``"<kind>:<id>"`` of an agreement, a delivery, a sanction
        or a visit of the family, or empty), ``confidential``, ``staff_username``,
        ``staff_name`` and ``received_on``.
    :raises ValidationFailed: a value missing or not allowed (next to its field).
    :raises OutOfScope: a family or community the user does not work in.
    """
    family: Family | None = data.get("family")
    community: Community | None = data.get("community")
    if family is not None:
        if family.voided:
            raise ValidationFailed(_l("Choose the family."), field="family")
        community_id = family.community_id
    elif community is not None and not community.voided:
        community_id = community.id
    else:
        raise ValidationFailed(_l("Choose the family, or the community of an anonymous "
                                  "grievance."), field="community")
    check_write_scope(community_id, "family" if family is not None else "community")
    channel = data.get("channel")
    if channel not in CHANNELS:
        raise ValidationFailed(_l("Choose how it arrived."), field="channel")
    category = data.get("category")
    if category not in categories():
        raise ValidationFailed(_l("Choose a category."), field="category")
    description = _text(data.get("description"), "description",
                        _l("Write what the complaint is about."))
    received_on = data.get("received_on")
    if not isinstance(received_on, date):
        raise ValidationFailed(_l("Enter the day it was received."), field="received_on")
    if received_on > local_today():
        raise ValidationFailed(_l("It cannot be received in the future."), field="received_on")
    related_kind, related_id = _related(family, data.get("related"))
    confidential = bool(data.get("confidential"))
    staff_username = (str(data.get("staff_username") or "").strip() or None)
    staff_name = " ".join((_text(data.get("staff_name"), "staff_name") or "").split()) or None
    if staff_username is not None:
        staff = db.session.execute(select(User).where(User.username == staff_username)
                                   ).scalar_one_or_none()
        if staff is None:
            raise ValidationFailed(_l("Choose a user of the list."), field="staff_username")
        staff_name = staff_name or staff.full_name
    if not confidential and (staff_username or staff_name):
        raise ValidationFailed(_l("A grievance about a staff member is confidential: tick "
                                  "“Confidential”."), field="confidential")
    if staff_name and len(staff_name) > 120:
        raise ValidationFailed(_l("At most %(n)s characters.", n=120), field="staff_name")
    acknowledge_due, answer_due = rules.deadlines(received_on, current_app.config)
    grievance = Grievance(
        id=new_id(), code=next_code("G"), family_id=family.id if family else None,
        community_id=community_id, channel=channel, category=category,
        description=description, related_kind=related_kind, related_id=related_id,
        confidential=confidential, staff_username=staff_username, staff_name=staff_name,
        status="received", received_on=received_on, acknowledge_due_on=acknowledge_due,
        answer_due_on=answer_due, due_on=acknowledge_due,
        recorded_by=getattr(user, "username", None), status_token=secrets.token_hex(16),
    )
    db.session.add(grievance)
    _add_step(grievance, "received", user, None)
    _audit("create", grievance, None)
    return grievance


def _add_step(grievance: Grievance, step: str, user: Any, note: str | None) -> None:
    db.session.add(GrievanceStep(
        grievance_id=grievance.id, step=step, at=utcnow(),
        by_username=getattr(user, "username", None), by_name=getattr(user, "full_name", None),
        note=note, confidential=grievance.confidential))


def _move(grievance: Grievance, target: str, user: Any, note: str | None,
          **changes: Any) -> Grievance:
    """Check and make one step: the workflow, then the changes, the step and the audit entry."""
    if grievance.voided:
        raise GrievanceRefused()
    if not rules.may_move(grievance.status, target):
        raise TransitionRefused(
            _l("A grievance that is %(status)s cannot be %(target)s.",
               status=label("grievance_status", grievance.status),
               target=label("grievance_status", target)),
            status=grievance.status)
    check_write_scope(place_of(grievance))
    before = audit_snapshot(grievance)
    for key, value in changes.items():
        setattr(grievance, key, value)
    grievance.status = target
    _add_step(grievance, target, user, note)
    _audit(f"grievance:{target}", grievance, before)
    return grievance


def _coordinator(grievance: Grievance, user: Any) -> None:
    if user is None or not user.has_role("coordinator"):
        raise Forbidden(_l("Only a coordinator takes this step."))
    if grievance.confidential and named_in(grievance, user):
        raise Forbidden()


def reviewer_choices(grievance: Grievance) -> list[User]:
    """The coordinators a grievance may be handed to: active, not the staff member it names,
    and for an appeal not whoever answered it first."""
    users = db.session.execute(
        select(User).where(User.active.is_(True), User.role.in_(("coordinator", "admin")))
        .order_by(User.full_name)).scalars().all()
    first = (grievance.first_answered_by or "").lower()
    appeal = grievance.status in ("answered", "appealed")
    return [u for u in users if not named_in(grievance, u)
            and not (appeal and u.username.lower() == first)]


def _reviewer(grievance: Grievance, username: Any) -> User:
    chosen = next((u for u in reviewer_choices(grievance) if u.username == username), None)
    if chosen is None:
        if grievance.first_answered_by and username == grievance.first_answered_by:
            raise ValidationFailed(_l("An appeal goes to someone other than who answered it."),
                                   field="assignee")
        raise ValidationFailed(_l("Choose a coordinator of the list."), field="assignee")
    return chosen


def acknowledge_grievance(grievance: Grievance, user: Any, note: Any = None) -> Grievance:
    """Acknowledge a received grievance (the complainant has been told it is being handled).

    :raises TransitionRefused: it is not in ``received``.
    """
    if grievance.confidential:
        _coordinator(grievance, user)
    return _move(grievance, "acknowledged", user, _text(note, "note"),
                 acknowledged_at=utcnow(), due_on=grievance.answer_due_on)


def assign_grievance(grievance: Grievance, user: Any, assignee: Any, note: Any = None
                     ) -> Grievance:
    """Put an acknowledged grievance under review by a coordinator (or hand it, or an appeal,
    to another one).

    :raises ValidationFailed: not a coordinator of the list (for an appeal, not the first one
        who answered).
    """
    _coordinator(grievance, user)
    reviewer = _reviewer(grievance, assignee)
    target = "appealed" if grievance.status == "appealed" else "under_review"
    return _move(grievance, target, user, _text(note, "note"),
                 assigned_username=reviewer.username, assigned_name=reviewer.full_name)


def answer_grievance(grievance: Grievance, user: Any, answer: Any, action_taken: Any = None
                     ) -> Grievance:
    """Answer a grievance under review (or its appeal): the answer and what was done.

    :raises ValidationFailed: no answer text.
    :raises Forbidden: an appeal answered by whoever answered the grievance first.
    """
    _coordinator(grievance, user)
    text = _text(answer, "answer", _l("Write the answer given to the complainant."))
    done = _text(action_taken, "action_taken")
    first = grievance.first_answered_at is None
    if not first and (user.username or "").lower() == (grievance.first_answered_by or "").lower():
        raise Forbidden(_l("An appeal is answered by someone other than who answered it."))
    now = utcnow()
    changes: dict[str, Any] = {
        "answer": text, "action_taken": done, "answered_at": now, "due_on": None,
        "answered_by_username": user.username, "answered_by_name": user.full_name}
    if first:
        changes.update(first_answered_at=now, first_answered_on=local_today(),
                       first_answered_by=user.username)
    return _move(grievance, "answered", user, None, **changes)


def appeal_grievance(grievance: Grievance, user: Any, assignee: Any, note: Any = None
                     ) -> Grievance:
    """The complainant appeals the answer: it reopens with another coordinator (once).

    :raises GrievanceRefused: it was appealed before (the appeal's answer is final).
    """
    _coordinator(grievance, user)
    if grievance.status != "answered":
        raise TransitionRefused(
            _l("Only an answered grievance can be appealed; this one is %(status)s.",
               status=label("grievance_status", grievance.status)), status=grievance.status)
    if grievance.appealed_at is not None:
        raise GrievanceRefused(_l("This grievance was appealed before; the answer to the appeal "
                                  "is final."))
    reviewer = _reviewer(grievance, assignee)
    today = local_today()
    return _move(grievance, "appealed", user, _text(note, "note"), appealed_at=utcnow(),
                 assigned_username=reviewer.username, assigned_name=reviewer.full_name,
                 due_on=rules.appeal_due(today, current_app.config))


def close_grievance(grievance: Grievance, user: Any, reason: Any) -> Grievance:
    """Close a grievance with a reason (after its answer, or when it cannot go on).

    :raises ValidationFailed: no reason.
    """
    _coordinator(grievance, user)
    text = _text(reason, "reason", _l("Write why it is closed."))
    return _move(grievance, "closed", user, text, closing_reason=text, closed_at=utcnow(),
                 due_on=None)


def withdraw_grievance(grievance: Grievance, user: Any, note: Any) -> Grievance:
    """The complainant withdraws the grievance (what they said is the note).

    :raises ValidationFailed: no note.
    """
    if grievance.confidential:
        _coordinator(grievance, user)
    text = _text(note, "note", _l("Write what the complainant said when withdrawing it."))
    return _move(grievance, "withdrawn", user, text, closing_reason=text, closed_at=utcnow(),
                 due_on=None)


def delete_grievance(grievance: Grievance) -> None:
    """Never: a grievance stays on record.

    :raises GrievanceRefused: always.
    """
    raise GrievanceRefused(_l("A grievance is never deleted: it is withdrawn by the complainant "
                              "or closed with a reason."))


def days_to_answer(grievance: Grievance) -> int | None:
    """Days from receipt to the first answer (``None`` while unanswered)."""
    if grievance.first_answered_on is None:
        return None
    return (grievance.first_answered_on - grievance.received_on).days
