"""The promotor's worklist: what is waiting in the user's communities, grouped by community so a
trip can be planned, each item one tap from the form that resolves it.

- alerts to verify (deforestation alerts on plots under agreement);
- visits due: families under agreement never visited, or last visited longer ago than
  ``VISIT_INTERVAL_DAYS``;
- benefits owed: an active agreement promising more than was delivered;
- agreements to renew: signed or active, ending within ``RENEWAL_WINDOW_DAYS``, not renewed;
- drafts not signed;
- families without data-use consent.

The home page shows it first; the tablet stores it (``/pwa/worklist``) and shows it offline,
hiding the items a form waiting in its outbox resolves (``match``: the form's address, or its
kind and family; see static/js/worklist.js).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from fieldapp.agreements.models import Agreement, AgreementBenefit
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.formatting import format_day
from fieldapp.plots.models import AlertCheck, Plot
from fieldapp.submissions import local_today

#: The kinds of item, in the order a community's items are listed.
KINDS = ("alert", "visit", "benefits", "renewal", "draft", "consent")
KIND_LABELS = {
    "alert": _l("Alert to verify"), "visit": _l("Visit due"), "benefits": _l("Benefits owed"),
    "renewal": _l("Agreement to renew"), "draft": _l("Draft to sign"),
    "consent": _l("No data-use consent"),
}
#: Agreements a family is visited under.
UNDER_AGREEMENT = ("signed", "active")


@dataclass
class WorkItem:
    """One thing to do: for which family, why, and where it is done."""

    id: str
    kind: str
    community_id: str
    family_id: str
    family: str
    detail: str
    url: str
    #: What resolves it in the tablet's outbox: ``{"url": path}`` (a form posted there) or
    #: ``{"kind": outbox kind, "family": id}`` (such a form for this family).
    match: dict[str, str] = field(default_factory=dict)
    due: str = ""


@dataclass
class CommunityWork:
    id: str
    name: str
    items: list[WorkItem] = field(default_factory=list)
    #: Items of a kind past :data:`PER_KIND` (counted, not listed: a trip plans a few).
    more: dict[str, int] = field(default_factory=dict)


#: The most items of one kind listed per community (the rest are counted), and the most
#: listed in all (a worklist of the whole program lists fewer per community).
PER_KIND = 25
MAX_ITEMS = 600


class _Collector:
    """Items made only when listed: past :data:`PER_KIND` of a kind in a community they are
    counted (a node of the whole program has thousands, and the tablet must show it at once)."""

    def __init__(self, communities: int) -> None:
        self.items: list[WorkItem] = []
        self.count: dict[tuple[Any, str], int] = defaultdict(int)
        self.per_kind = max(1, min(PER_KIND, MAX_ITEMS // (len(KINDS) * max(communities, 1))))

    def add(self, kind: str, family: Any, make: Any) -> None:
        key = (family.community_id, kind)
        self.count[key] += 1
        if self.count[key] <= self.per_kind:
            self.items.append(make())


def _families(scope: list[Any] | None) -> dict[uuid.UUID, Any]:
    stmt = (select(Family.id, Family.code, Family.head_given_names, Family.head_surname,
                   Family.community_id, Family.data_consent)
            .where(Family.voided.is_(False), Family.status == "active"))
    if scope is not None:
        stmt = stmt.where(Family.community_id.in_(scope))
    return {row.id: row for row in db.session.execute(stmt)}


def _name(row: Any) -> str:
    return f"{row.head_given_names} {row.head_surname} ({row.code})"


def _item(kind: str, ref: Any, family: Any, detail: str, url: str, match: dict[str, str],
          due: date | None = None) -> WorkItem:
    return WorkItem(f"{kind}:{ref}", kind, str(family.community_id), str(family.id),
                    _name(family), detail, url, match, due.isoformat() if due else "")


def _alerts(families: dict, scope: list[Any] | None, out: _Collector) -> None:
    """One item per plot with alerts to verify (a visit checks the plot): its oldest open
    alert, and how many there are."""
    stmt = (select(AlertCheck.id, AlertCheck.plot_id, AlertCheck.family_id, AlertCheck.source,
                   AlertCheck.detected_on, Plot.name)
            .join(Plot, Plot.id == AlertCheck.plot_id)
            .where(AlertCheck.status == "open", AlertCheck.voided.is_(False))
            .order_by(AlertCheck.detected_on, AlertCheck.id))
    if scope is not None:
        stmt = stmt.where(AlertCheck.community_id.in_(scope))
    oldest: dict[Any, Any] = {}
    count: dict[Any, int] = defaultdict(int)
    for row in db.session.execute(stmt):
        oldest.setdefault(row.plot_id, row)
        count[row.plot_id] += 1
    def make(row: Any, family: Any, n: int) -> WorkItem:
        url = url_for("plots.alert", check_id=row.id)
        detail = str(_l("%(source)s alert of %(date)s on %(plot)s", source=row.source,
                        date=format_day(row.detected_on), plot=row.name))
        if n > 1:
            detail += " " + str(_l("(%(n)s alerts on this plot)", n=n))
        return _item("alert", row.id, family, detail, url, {"url": url}, row.detected_on)

    for plot_id, row in oldest.items():
        family = families.get(row.family_id)
        if family is not None:
            out.add("alert", family, lambda r=row, f=family, n=count[plot_id]: make(r, f, n))


def _agreements(family_ids: list[uuid.UUID]) -> list[Any]:
    rows = []
    for start in range(0, len(family_ids), 900):
        rows += db.session.execute(
            select(Agreement.id, Agreement.family_id, Agreement.number, Agreement.status,
                   Agreement.period_end, Agreement.supersedes_id)
            .where(Agreement.family_id.in_(family_ids[start:start + 900]),
                   Agreement.voided.is_(False))).all()
    return rows


def _last_visits(family_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    last: dict[uuid.UUID, date] = {}
    for start in range(0, len(family_ids), 900):
        last.update(db.session.execute(
            select(ComplianceVisit.family_id, func.max(ComplianceVisit.visited_on))
            .where(ComplianceVisit.family_id.in_(family_ids[start:start + 900]),
                   ComplianceVisit.voided.is_(False))
            .group_by(ComplianceVisit.family_id)).all())
    return last


def _owed(agreement_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Active agreements promising more of a benefit than was delivered (net)."""
    owed: set[uuid.UUID] = set()
    net = func.sum(case((Delivery.reverses_id.is_(None), Delivery.quantity),
                        else_=-Delivery.quantity))
    for start in range(0, len(agreement_ids), 900):
        chunk = agreement_ids[start:start + 900]
        delivered = {(a, t): Decimal(q or 0) for a, t, q in db.session.execute(
            select(Delivery.agreement_id, Delivery.benefit_type_id, net)
            .where(Delivery.agreement_id.in_(chunk), Delivery.voided.is_(False))
            .group_by(Delivery.agreement_id, Delivery.benefit_type_id))}
        for a, t, q in db.session.execute(
                select(AgreementBenefit.agreement_id, AgreementBenefit.benefit_type_id,
                       func.sum(AgreementBenefit.quantity))
                .where(AgreementBenefit.agreement_id.in_(chunk),
                       AgreementBenefit.voided.is_(False))
                .group_by(AgreementBenefit.agreement_id, AgreementBenefit.benefit_type_id)):
            if Decimal(q or 0) > delivered.get((a, t), Decimal(0)):
                owed.add(a)
    return owed


def worklist(scope: list[Any] | None, today: date | None = None) -> list[CommunityWork]:
    """The worklist of the communities ``scope`` names (all for ``None``), by community."""
    today = today or local_today()
    config = current_app.config
    interval = timedelta(days=int(config["VISIT_INTERVAL_DAYS"]))
    window = timedelta(days=int(config["RENEWAL_WINDOW_DAYS"]))
    families = _families(scope)
    out = _Collector(len({f.community_id for f in families.values()}))
    _alerts(families, scope, out)
    agreements = [a for a in _agreements(list(families)) if a.family_id in families]
    renewed = {a.supersedes_id for a in agreements if a.supersedes_id is not None}
    under = {a.family_id for a in agreements if a.status in UNDER_AGREEMENT}
    last = _last_visits(list(under))
    owed = _owed([a.id for a in agreements if a.status == "active"])

    def visit(family: Any, seen: date | None) -> WorkItem:
        detail = (str(_l("Last visit %(date)s", date=format_day(seen))) if seen
                  else str(_l("Never visited")))
        return _item("visit", family.id, family, detail,
                     url_for("compliance.create_visit", family=family.id),
                     {"kind": "visit", "family": str(family.id)},
                     seen + interval if seen else None)

    def benefits(a: Any) -> WorkItem:
        return _item("benefits", a.id, families[a.family_id], a.number,
                     url_for("deliveries.create", family=a.family_id),
                     {"kind": "delivery", "family": str(a.family_id)})

    def renewal(a: Any) -> WorkItem:
        return _item("renewal", a.id, families[a.family_id], str(_l(
            "%(number)s ends on %(date)s", number=a.number, date=format_day(a.period_end))),
            url_for("agreements.detail", agreement_id=a.id),
            {"url": url_for("agreements.renew", agreement_id=a.id)}, a.period_end)

    def draft(a: Any) -> WorkItem:
        url = url_for("agreements.sign", agreement_id=a.id)
        return _item("draft", a.id, families[a.family_id], a.number, url, {"url": url})

    def consent(family: Any) -> WorkItem:
        url = url_for("families.edit", family_id=family.id)
        return _item("consent", family.id, family, "", url, {"url": url, "field": "data_consent"})

    # Never visited first, then the longest ago.
    due = [f for f in under if last.get(f) is None or last[f] < today - interval]
    for family_id in sorted(due, key=lambda f: (last.get(f) or date.min, _name(families[f]))):
        family = families[family_id]
        out.add("visit", family, lambda f=family: visit(f, last.get(f.id)))
    for a in sorted(agreements, key=lambda a: (a.period_end, a.number)):
        family = families[a.family_id]
        if a.id in owed:
            out.add("benefits", family, lambda a=a: benefits(a))
        if a.status in UNDER_AGREEMENT and a.id not in renewed \
                and today <= a.period_end <= today + window:
            out.add("renewal", family, lambda a=a: renewal(a))
        if a.status == "draft":
            out.add("draft", family, lambda a=a: draft(a))
    for family in sorted((f for f in families.values() if not f.data_consent), key=_name):
        out.add("consent", family, lambda f=family: consent(f))
    return _grouped(out)


def _grouped(out: _Collector) -> list[CommunityWork]:
    """The items by community (by name), each community's in the order of :data:`KINDS`."""
    names = dict(db.session.execute(select(Community.id, Community.name)).all())
    groups: dict[str, CommunityWork] = {}
    order = {kind: n for n, kind in enumerate(KINDS)}
    for item in sorted(out.items, key=lambda i: order[i.kind]):
        group = groups.setdefault(item.community_id, CommunityWork(
            item.community_id, names.get(uuid.UUID(item.community_id), "?")))
        group.items.append(item)
    for (community_id, kind), n in out.count.items():
        if n > out.per_kind:
            groups[str(community_id)].more[kind] = n - out.per_kind
    return sorted(groups.values(), key=lambda g: g.name)


def worklist_json(groups: list[CommunityWork]) -> dict[str, Any]:
    """The worklist as the tablet stores it, with a stamp of its content and the kinds' words."""
    body = [{"id": g.id, "name": g.name, "items": [asdict(i) for i in g.items],
             "more": g.more} for g in groups]
    stamp = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]
    counts: dict[str, int] = defaultdict(int)
    for g in groups:
        for i in g.items:
            counts[i.kind] += 1
    return {"stamp": stamp, "groups": body, "counts": dict(counts),
            "labels": {k: str(v) for k, v in KIND_LABELS.items()},
            "more_text": str(_l("and {n} more: {kind}"))}
