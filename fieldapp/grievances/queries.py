"""Reading grievances: the list and worklist, a family's, the related-record choices, figures."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from fieldapp.agreements.models import Agreement
from fieldapp.compliance.models import ComplianceVisit, Sanction
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.formatting import format_day
from fieldapp.grievances.access import visible_condition
from fieldapp.grievances.catalogue import category_label
from fieldapp.grievances.models import OPEN_STATUSES, Grievance
from fieldapp.labels import label

#: The list's views: every one, the open ones, the overdue ones, the ones the user holds.
VIEWS = ("open", "overdue", "mine", "all")


def grievance_list(view: str, today: date, username: str | None,
                   community_id: uuid.UUID | None = None) -> Select[Any]:
    """The grievances the current user may see, in ``view``: overdue first, then by due day."""
    stmt = (select(Grievance)
            .options(joinedload(Grievance.family), joinedload(Grievance.community))
            .where(visible_condition()))
    if view in ("open", "overdue", "mine"):
        stmt = stmt.where(Grievance.status.in_(OPEN_STATUSES))
    if view == "overdue":
        stmt = stmt.where(Grievance.due_on < today)
    if view == "mine":
        stmt = stmt.where(Grievance.assigned_username == (username or ""))
    if community_id is not None:
        stmt = stmt.where(Grievance.community_id == community_id)
    if view == "all":
        return stmt.order_by(Grievance.received_on.desc(), Grievance.code.desc())
    return stmt.order_by(Grievance.due_on, Grievance.code)


def load_grievance(grievance_id: uuid.UUID) -> Grievance | None:
    """A grievance with its steps, family and community."""
    return db.session.execute(
        select(Grievance).where(Grievance.id == grievance_id)
        .options(selectinload(Grievance.steps), joinedload(Grievance.family),
                 joinedload(Grievance.community))
    ).scalar_one_or_none()


def family_grievances(family_id: uuid.UUID) -> list[Grievance]:
    """A family's grievances the current user may see, newest first (the family page)."""
    return list(db.session.execute(
        select(Grievance).where(Grievance.family_id == family_id, visible_condition())
        .order_by(Grievance.received_on.desc(), Grievance.code.desc())).scalars())


def related_choices(family: Family | None) -> list[tuple[str, str]]:
    """The records of a family a grievance may be about, as ``("<kind>:<id>", words)``."""
    if family is None:
        return []
    choices: list[tuple[str, str]] = []
    for agreement in db.session.execute(
            select(Agreement).where(Agreement.family_id == family.id,
                                    Agreement.voided.is_(False))
            .order_by(Agreement.created_at.desc())).scalars():
        choices.append((f"agreement:{agreement.id}",
                        f"{label('grievance_related', 'agreement')} {agreement.number}"))
    for delivery in db.session.execute(
            select(Delivery).where(Delivery.family_id == family.id, Delivery.voided.is_(False))
            .order_by(Delivery.delivered_on.desc()).limit(30)).scalars():
        choices.append((f"delivery:{delivery.id}",
                        f"{label('grievance_related', 'delivery')} {delivery.code} · "
                        f"{delivery.item} · {format_day(delivery.delivered_on)}"))
    for sanction in db.session.execute(
            select(Sanction).where(Sanction.family_id == family.id, Sanction.voided.is_(False))
            .order_by(Sanction.created_at.desc())).scalars():
        choices.append((f"sanction:{sanction.id}",
                        f"{label('grievance_related', 'sanction')}: "
                        f"{label('sanction_level', sanction.level)} · "
                        f"{label('sanction_status', sanction.status)} · "
                        f"{format_day(sanction.created_at)}"))
    for visit in db.session.execute(
            select(ComplianceVisit).where(ComplianceVisit.family_id == family.id,
                                          ComplianceVisit.voided.is_(False))
            .order_by(ComplianceVisit.visited_on.desc()).limit(30)).scalars():
        choices.append((f"visit:{visit.id}",
                        f"{label('grievance_related', 'visit')} {visit.code} · "
                        f"{format_day(visit.visited_on)}"))
    return choices


def related_name(grievance: Grievance) -> str | None:
    """The record a grievance is about, in words (its code or number)."""
    if not grievance.related_kind or grievance.related_id is None:
        return None
    for value, words in related_choices(grievance.family):
        if value == f"{grievance.related_kind}:{grievance.related_id}":
            return words
    return label("grievance_related", grievance.related_kind)


def figures(today: date, date_from: date | None = None, date_to: date | None = None
            ) -> dict[str, Any]:
    """The grievance figures of those the current user may see, received in the period:
    received, answered, answered in time, overdue, median days to the first answer, and the
    same by category and by community (confidential ones counted, never described)."""
    from fieldapp.communities.models import Community

    stmt = (select(Grievance.status, Grievance.category, Grievance.received_on,
                   Grievance.answer_due_on, Grievance.due_on, Grievance.first_answered_on,
                   Community.name)
            .join(Community, Community.id == Grievance.community_id)
            .where(visible_condition()))
    if date_from is not None:
        stmt = stmt.where(Grievance.received_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Grievance.received_on <= date_to)
    groups: dict[str, dict[Any, _Tally]] = {"category": {}, "community": {}}
    total = _Tally()
    for status, category, received_on, answer_due, due_on, answered_on, community in (
            db.session.execute(stmt)):
        row = (status, received_on, answer_due, due_on, answered_on)
        total.add(today, *row)
        for group, key in (("category", category), ("community", community)):
            groups[group].setdefault(key, _Tally()).add(today, *row)
    return {"total": total.result(),
            "by_category": {k: v.result() for k, v in sorted(groups["category"].items())},
            "by_community": {k: v.result() for k, v in sorted(groups["community"].items())}}


class _Tally:
    """The figures of one group of grievances."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.days: list[int] = []

    def add(self, today: date, status: str, received_on: date, answer_due: date,
            due_on: date | None, answered_on: date | None) -> None:
        self.counts["received"] += 1
        if status in OPEN_STATUSES:
            self.counts["open"] += 1
            if due_on is not None and due_on < today:
                self.counts["overdue"] += 1
        if answered_on is not None:
            self.counts["answered"] += 1
            self.days.append((answered_on - received_on).days)
            if answered_on <= answer_due:
                self.counts["answered_in_time"] += 1

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: self.counts[k] for k in
                               ("received", "open", "overdue", "answered", "answered_in_time")}
        out["median_days"] = statistics.median(self.days) if self.days else None
        return out


def locale_name() -> str:
    return str(get_locale() or "es")


def status_url(grievance: Grievance) -> str:
    """The public status page's address on central (the slip's QR)."""
    base = str(current_app.config["CENTRAL_PUBLIC_URL"]).rstrip("/")
    return f"{base}/grievance-status/{grievance.status_token}"


def slip_data(grievance: Grievance) -> dict[str, Any]:
    """What a grievance's slip prints: its code, dates, the family, the program's contact and
    the status page's address; nothing of the complaint itself, no staff member's name."""
    return {
        "program": current_app.config["PROGRAM_NAME"],
        "contact": current_app.config["GRIEVANCE_CONTACT"],
        "code": grievance.code,
        "received_on": grievance.received_on,
        "answer_due_on": grievance.answer_due_on,
        "family": None if grievance.family is None else
        f"{grievance.family.head_name} ({grievance.family.code})",
        "community": grievance.community.name,
        "category": category_label(grievance.category, "es"),
        "url": status_url(grievance),
    }
