"""What the duplicates review shows of two families: the records hanging on each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from fieldapp.extensions import db


def family_records(family_id: uuid.UUID) -> dict[str, list[Any]]:
    """What hangs on a family, kind by kind (the review screen's side-by-side lists)."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.trainings.models import Attendance

    def rows(model: Any, order: Any) -> list[Any]:
        return list(db.session.execute(select(model).where(
            model.family_id == family_id, model.voided.is_(False)).order_by(order)).scalars())

    return {
        "agreements": rows(Agreement, Agreement.created_at),
        "deliveries": rows(Delivery, Delivery.delivered_on),
        "attendance": rows(Attendance, Attendance.created_at),
        "visits": rows(ComplianceVisit, ComplianceVisit.created_at),
    }


@dataclass
class Cluster:
    """Families linked by possible-duplicate pairs (A like B, B like C: one review of A, B, C),
    in the order their best pairs rank; ``pairs`` best first."""

    families: list[Any] = field(default_factory=list)
    pairs: list[Any] = field(default_factory=list)


def clusters_of(pairs: list[Any]) -> list[Cluster]:
    """The ranked ``pairs`` (:class:`fieldapp.families.duplicates.Match`) grouped into
    connected clusters, ranked by their best pair: a family in several pairs is reviewed once,
    with every family it may duplicate."""
    parent: dict[Any, Any] = {}

    def root(x: Any) -> Any:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for m in pairs:
        parent[root(m.a)] = root(m.b)
    clusters: dict[Any, Cluster] = {}
    for m in pairs:
        cluster = clusters.setdefault(root(m.a), Cluster())
        cluster.pairs.append(m)
        for family_id in (m.a, m.b):
            if family_id not in cluster.families:
                cluster.families.append(family_id)
    return list(clusters.values())


def live_agreement_numbers(family_id: uuid.UUID) -> list[str]:
    """The numbers of a family's signed or active agreements (two after a merge: the
    coordinator decides which continues; neither is voided by the merge)."""
    from fieldapp.agreements.models import Agreement

    return list(db.session.execute(select(Agreement.number).where(
        Agreement.family_id == family_id, Agreement.voided.is_(False),
        Agreement.status.in_(("signed", "active"))).order_by(Agreement.number)).scalars())
