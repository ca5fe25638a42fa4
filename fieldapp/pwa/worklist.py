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
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased

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
#: Half the smallest quantity (two decimals): promised and delivered sums compared past it (a
#: database summing in binary floating point leaves 0.1 + 0.2 a hair above 0.3).
QUANTITY_EPSILON = 0.005


class _Collector:
    """Items made only when listed: past :data:`PER_KIND` of a kind in a community they are
    counted (a node of the whole program has thousands, and the tablet must show it at once)."""

    def __init__(self, communities: int) -> None:
        self.items: list[WorkItem] = []
        self.count: dict[tuple[Any, str], int] = {}
        self.per_kind = max(1, min(PER_KIND, MAX_ITEMS // (len(KINDS) * max(communities, 1))))

    def add(self, kind: str, rows: list[Any], make: Any) -> None:
        """The listed rows of a kind (each with its community's ``total``), in order."""
        for row in rows:
            self.count[(row.community_id, kind)] = row.total
            self.items.append(make(row))


def _in_scope(scope: list[Any] | None) -> list[Any]:
    """The families a worklist is about: registered, of the user's communities."""
    conditions = [Family.voided.is_(False), Family.status == "active"]
    if scope is not None:
        conditions.append(Family.community_id.in_(scope))
    return conditions


def _family_columns() -> list[Any]:
    return [Family.id.label("family_id"), Family.community_id, Family.code,
            Family.head_given_names, Family.head_surname]


def _name_order() -> Any:
    """The family's name as :func:`_name` writes it, in code-point order on every database
    (as Python sorts)."""
    name = (Family.head_given_names + " " + Family.head_surname + " (" + Family.code + ")")
    if db.session.get_bind().dialect.name == "postgresql":
        return name.collate("C")
    return name


def _first(stmt: Select[Any], order: list[Any], per_kind: int) -> list[Any]:
    """The first ``per_kind`` rows of ``stmt`` in each community by ``order``, each with the
    number of rows its community has (``total``): ranked in the database, so a worklist of the
    whole program reads a few hundred rows whatever its size."""
    ranked = stmt.add_columns(
        func.row_number().over(partition_by=Family.community_id, order_by=order).label("rank"),
        func.count().over(partition_by=Family.community_id).label("total"),
    ).subquery()
    return db.session.execute(
        select(ranked).where(ranked.c.rank <= per_kind)
        .order_by(ranked.c.community_id, ranked.c.rank)).all()


def _name(row: Any) -> str:
    return f"{row.head_given_names} {row.head_surname} ({row.code})"


def _item(kind: str, ref: Any, row: Any, detail: str, url: str, match: dict[str, str],
          due: date | None = None) -> WorkItem:
    return WorkItem(f"{kind}:{ref}", kind, str(row.community_id), str(row.family_id),
                    _name(row), detail, url, match, due.isoformat() if due else "")


def _alerts(scope: list[Any] | None, out: _Collector) -> None:
    """One item per plot with alerts to verify (a visit checks the plot): its oldest open
    alert, and how many there are."""
    by_plot = (select(AlertCheck.id, AlertCheck.plot_id, AlertCheck.family_id,
                      AlertCheck.source, AlertCheck.detected_on,
                      func.row_number().over(partition_by=AlertCheck.plot_id,
                                             order_by=(AlertCheck.detected_on, AlertCheck.id))
                      .label("nth"),
                      func.count().over(partition_by=AlertCheck.plot_id).label("on_plot"))
               .where(AlertCheck.status == "open", AlertCheck.voided.is_(False),
                      *([AlertCheck.community_id.in_(scope)] if scope is not None else []))
               .subquery())
    stmt = (select(by_plot.c.id, by_plot.c.source, by_plot.c.detected_on, by_plot.c.on_plot,
                   Plot.name.label("plot"), *_family_columns())
            .join(Plot, Plot.id == by_plot.c.plot_id)
            .join(Family, Family.id == by_plot.c.family_id)
            .where(by_plot.c.nth == 1, *_in_scope(scope)))

    def make(row: Any) -> WorkItem:
        url = url_for("plots.alert", check_id=row.id)
        detail = str(_l("%(source)s alert of %(date)s on %(plot)s", source=row.source,
                        date=format_day(row.detected_on), plot=row.plot))
        if row.on_plot > 1:
            detail += " " + str(_l("(%(n)s alerts on this plot)", n=row.on_plot))
        return _item("alert", row.id, row, detail, url, {"url": url}, row.detected_on)

    out.add("alert", _first(stmt, [by_plot.c.detected_on, by_plot.c.id], out.per_kind), make)


def _visits(scope: list[Any] | None, out: _Collector, today: date,
            interval: timedelta) -> None:
    """Families under agreement never visited, or last visited longer ago than ``interval``:
    never visited first, then the longest ago."""
    under = (select(Agreement.family_id)
             .where(Agreement.voided.is_(False), Agreement.status.in_(UNDER_AGREEMENT)))
    last = (select(ComplianceVisit.family_id, func.max(ComplianceVisit.visited_on).label("on"))
            .join(Family, Family.id == ComplianceVisit.family_id)
            .where(ComplianceVisit.voided.is_(False), *_in_scope(scope))
            .group_by(ComplianceVisit.family_id).subquery())
    stmt = (select(last.c.on, *_family_columns())
            .outerjoin(last, last.c.family_id == Family.id)
            .where(Family.id.in_(under), *_in_scope(scope),
                   (last.c.on.is_(None)) | (last.c.on < today - interval)))

    def make(row: Any) -> WorkItem:
        seen = row.on
        detail = (str(_l("Last visit %(date)s", date=format_day(seen))) if seen
                  else str(_l("Never visited")))
        return _item("visit", row.family_id, row, detail,
                     url_for("compliance.create_visit", family=row.family_id),
                     {"kind": "visit", "family": str(row.family_id)},
                     seen + interval if seen else None)

    order = [last.c.on.is_not(None), last.c.on, _name_order()]
    out.add("visit", _first(stmt, order, out.per_kind), make)


def _owed(scope: list[Any] | None) -> Any:
    """Active agreements promising more of a benefit than was delivered (net), as a subquery."""
    net = func.sum(case((Delivery.reverses_id.is_(None), Delivery.quantity),
                        else_=-Delivery.quantity))
    delivered = (select(Delivery.agreement_id, Delivery.benefit_type_id, net.label("q"))
                 .join(Agreement, Agreement.id == Delivery.agreement_id)
                 .join(Family, Family.id == Agreement.family_id)
                 .where(Delivery.voided.is_(False), Agreement.status == "active",
                        Agreement.voided.is_(False), *_in_scope(scope))
                 .group_by(Delivery.agreement_id, Delivery.benefit_type_id).subquery())
    promised = (select(AgreementBenefit.agreement_id, AgreementBenefit.benefit_type_id,
                       func.sum(AgreementBenefit.quantity).label("q"))
                .join(Agreement, Agreement.id == AgreementBenefit.agreement_id)
                .join(Family, Family.id == Agreement.family_id)
                .where(AgreementBenefit.voided.is_(False), Agreement.status == "active",
                       Agreement.voided.is_(False), *_in_scope(scope))
                .group_by(AgreementBenefit.agreement_id, AgreementBenefit.benefit_type_id)
                .subquery())
    return (select(promised.c.agreement_id)
            .outerjoin(delivered, (delivered.c.agreement_id == promised.c.agreement_id)
                       & (delivered.c.benefit_type_id == promised.c.benefit_type_id))
            .where(promised.c.q - func.coalesce(delivered.c.q, 0) > QUANTITY_EPSILON))


def _agreement_items(scope: list[Any] | None, out: _Collector, today: date,
                     window: timedelta) -> None:
    """Benefits owed, agreements to renew (signed or active, ending within ``window``, not
    renewed) and drafts not signed, each kind by the agreement's end and number."""
    renewal = aliased(Agreement)  # (a renewal is of the same family: no scope needed)
    renewed = (select(renewal.supersedes_id)
               .where(renewal.voided.is_(False), renewal.supersedes_id.is_not(None)))

    def agreements(*conditions: Any) -> list[Any]:
        stmt = (select(Agreement.id, Agreement.number, Agreement.period_end, *_family_columns())
                .join(Family, Family.id == Agreement.family_id)
                .where(Agreement.voided.is_(False), *_in_scope(scope), *conditions))
        return _first(stmt, [Agreement.period_end, Agreement.number], out.per_kind)

    def benefits(a: Any) -> WorkItem:
        return _item("benefits", a.id, a, a.number,
                     url_for("deliveries.create", family=a.family_id),
                     {"kind": "delivery", "family": str(a.family_id)})

    def renew(a: Any) -> WorkItem:
        return _item("renewal", a.id, a, str(_l(
            "%(number)s ends on %(date)s", number=a.number, date=format_day(a.period_end))),
            url_for("agreements.detail", agreement_id=a.id),
            {"url": url_for("agreements.renew", agreement_id=a.id)}, a.period_end)

    def draft(a: Any) -> WorkItem:
        url = url_for("agreements.sign", agreement_id=a.id)
        return _item("draft", a.id, a, a.number, url, {"url": url})

    out.add("benefits", agreements(Agreement.id.in_(_owed(scope))), benefits)
    out.add("renewal", agreements(Agreement.status.in_(UNDER_AGREEMENT),
                                  Agreement.id.not_in(renewed),
                                  Agreement.period_end.between(today, today + window)), renew)
    out.add("draft", agreements(Agreement.status == "draft"), draft)


def _consent(scope: list[Any] | None, out: _Collector) -> None:
    """Families without data-use consent."""
    def make(row: Any) -> WorkItem:
        url = url_for("families.edit", family_id=row.family_id)
        return _item("consent", row.family_id, row, "", url,
                     {"url": url, "field": "data_consent"})

    stmt = select(*_family_columns()).where(Family.data_consent.is_not(True), *_in_scope(scope))
    out.add("consent", _first(stmt, [_name_order()], out.per_kind), make)


def worklist(scope: list[Any] | None, today: date | None = None) -> list[CommunityWork]:
    """The worklist of the communities ``scope`` names (all for ``None``), by community.

    A few grouped queries, one per kind of item, each ranking its rows per community in the
    database: the first :data:`PER_KIND` (fewer for many communities) are listed, the rest
    counted.
    """
    today = today or local_today()
    config = current_app.config
    interval = timedelta(days=int(config["VISIT_INTERVAL_DAYS"]))
    window = timedelta(days=int(config["RENEWAL_WINDOW_DAYS"]))
    communities = db.session.scalar(
        select(func.count(Family.community_id.distinct())).where(*_in_scope(scope)))
    out = _Collector(int(communities or 0))
    _alerts(scope, out)
    _visits(scope, out, today, interval)
    _agreement_items(scope, out, today, window)
    _consent(scope, out)
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
