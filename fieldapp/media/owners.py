"""The records an attachment may belong to: how to load one, its family, where it is shown."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldapp.agreements.models import Agreement
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family

#: Owner table -> (model, the attachment kinds it takes, endpoint and its id argument).
OWNERS: dict[str, tuple[Any, tuple[str, ...], str, str]] = {
    "families": (Family, ("photo",), "families.detail", "family_id"),
    "agreements": (Agreement, ("scan", "photo"), "agreements.detail", "agreement_id"),
    "benefit_deliveries": (Delivery, ("receipt", "photo"), "deliveries.detail", "delivery_id"),
    "compliance_visits": (ComplianceVisit, ("evidence", "photo"), "compliance.visit",
                          "visit_id"),
}


@dataclass(frozen=True)
class Owner:
    """A record attachments belong to."""

    table: str
    record: Any
    family_id: uuid.UUID
    community_id: uuid.UUID
    code: str

    @property
    def kinds(self) -> tuple[str, ...]:
        return OWNERS[self.table][1]

    def url(self) -> str:
        _model, _kinds, endpoint, arg = OWNERS[self.table]
        return url_for(endpoint, **{arg: self.record.id})


def load_owner(session: Session, table: str, owner_id: uuid.UUID) -> Owner | None:
    """The live record ``owner_id`` of ``table``, or ``None`` (unknown table, no such record,
    voided, or a family merged into another)."""
    if table not in OWNERS:
        return None
    model = OWNERS[table][0]
    record = session.get(model, owner_id)
    if record is None or record.voided:
        return None
    family = record if table == "families" else record.family
    if getattr(family, "merged_into_id", None) is not None:
        return None
    code = getattr(record, "code", None) or getattr(record, "number", None) or family.code
    return Owner(table, record, family.id, family.community_id, str(code))


def owner_families(session: Session, pairs: set[tuple[str, Any]]) -> dict[tuple[str, Any], Any]:
    """The family of each ``(owner table, owner id)`` that exists (a family: itself), in one
    query per table."""
    found: dict[tuple[str, Any], Any] = {}
    by_table: dict[str, set] = {}
    for table, owner_id in pairs:
        by_table.setdefault(table, set()).add(owner_id)
    for table, ids in by_table.items():
        if table not in OWNERS:
            continue
        model = OWNERS[table][0]
        family_column = model.id if table == "families" else model.family_id
        wanted = sorted(ids, key=str)
        for start in range(0, len(wanted), 500):
            for row_id, family_id in session.execute(
                    select(model.id, family_column).where(model.id.in_(wanted[start:start + 500]))):
                found[(table, row_id)] = family_id
    return found
