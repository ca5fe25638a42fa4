"""An audit entry as a person reads it: labelled fields, records by their code or name, dates in
the program's time zone, results and statuses in words (never JSON, keys or UUIDs)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.formatting import format_day, format_number, format_when
from fieldapp.labels import label

#: Columns never shown: the record's own id, the node stamp, text kept for search and hashing.
HIDDEN = {"id", "origin_node", "signed_content", "search_text", "image_sha256"}
#: Which label kind a column's values take, per table (``None``: any table).
VALUE_KINDS = {
    ("agreements", "status"): "agreement_status",
    ("families", "status"): "family_status",
    ("sanctions", "status"): "sanction_status",
    (None, "kind"): "agreement_kind",
    (None, "level"): "sanction_level",
    (None, "result"): "finding",
    (None, "receipt_kind"): "receipt_kind",
    (None, "signer_role"): "signer_role",
    (None, "category"): "benefit_category",
}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _record_models() -> dict[str, tuple[Any, Any]]:
    """Per reference column: the model and how a person names one of its records."""
    from fieldapp.agreements.models import Agreement, BenefitType, CommitmentType
    from fieldapp.auth.models import User
    from fieldapp.communities.models import Community
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family
    from fieldapp.trainings.models import TrainingSession

    locale = str(get_locale() or "es")
    family = (Family, lambda f: f"{f.head_name} ({f.code})")
    agreement = (Agreement, lambda a: a.number)
    user = (User, lambda u: u.full_name)
    return {
        "family_id": family, "agreement_id": agreement, "supersedes_id": agreement,
        "community_id": (Community, lambda c: c.name),
        "visit_id": (ComplianceVisit, lambda v: v.code),
        "delivery_id": (Delivery, lambda d: d.code), "reverses_id": (Delivery, lambda d: d.code),
        "suspected_duplicate_of_id": (Delivery, lambda d: d.code),
        "session_id": (TrainingSession, lambda s: s.code),
        "benefit_type_id": (BenefitType, lambda b: b.name(locale)),
        "commitment_type_id": (CommitmentType, lambda c: c.text(locale)),
        "created_by_id": user, "monitor_id": user, "decided_by_id": user,
        "delivered_by_id": user, "trainer_id": user,
    }


def record_name(column: str, value: Any) -> str:
    """The code or name of the record ``value`` points at (a UUID is never shown)."""
    model = _record_models().get(column)
    try:
        key = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return str(value)
    found = db.session.get(model[0], key) if model else None
    return model[1](found) if found is not None else _("(a record not on this node)")


#: Per synced table: the reference column naming its records (see :func:`_record_models`).
_TABLE_COLUMNS = {"families": "family_id", "agreements": "agreement_id",
                  "benefit_deliveries": "delivery_id", "compliance_visits": "visit_id",
                  "training_sessions": "session_id", "communities": "community_id",
                  "benefit_types": "benefit_type_id", "commitment_types": "commitment_type_id"}


def row_name(table: str, row_id: Any) -> str:
    """A record of ``table`` as a person names it: "family AM-TST-0001 (José …)"."""
    column = _TABLE_COLUMNS.get(table)
    what = label("record", table)
    if column is None or row_id is None:
        return what
    return f"{what} {record_name(column, row_id)}"


def commitment_names(codes: list[str]) -> dict[str, str]:
    """Catalogue commitments' texts by code, in the request's language."""
    from fieldapp.agreements.models import CommitmentType

    locale = str(get_locale() or "es")
    rows = db.session.execute(select(CommitmentType).where(CommitmentType.code.in_(codes)))
    return {c.code: c.text(locale) for c in rows.scalars()}


def readable_value(table: str, column: str, value: Any) -> str:
    """One recorded value in words."""
    if value is None or value == "":
        return "—"
    kind = VALUE_KINDS.get((table, column)) or VALUE_KINDS.get((None, column))
    if kind:
        return label(kind, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if column.endswith("_id") or column in ("supersedes", "reverses"):
        return record_name(column, value)
    if column == "findings" and isinstance(value, dict):
        names = commitment_names(list(value))
        return "; ".join(f"{names.get(code, code)}: {label('finding', result)}"
                         for code, result in value.items())
    if isinstance(value, dict):
        return "; ".join(f"{label('field', k)}: {readable_value(table, k, v)}"
                         for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(readable_value(table, column, v) for v in value)
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return format_when(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return format_day(date.fromisoformat(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value)
    return str(value)


def changes(entry: Any, limit: int = 160) -> list[tuple[str, str | None, str]]:
    """An entry's change as ``(field label, before or None, after)`` rows."""
    rows = []
    before = entry.before
    for column, value in (entry.after or {}).items():
        if column in HIDDEN:
            continue
        old = None if before is None else _short(
            readable_value(entry.entity_type, column, before.get(column)), limit)
        rows.append((label("field", column), old,
                     _short(readable_value(entry.entity_type, column, value), limit)))
    return rows


def node_name(node_id: str | None) -> str:
    """A node's code (``K7Q``), not its id."""
    if not node_id:
        return "—"
    if node_id == str(current_app.config.get("NODE_ID")):
        return str(current_app.config["NODE_CODE"])
    from fieldapp.nodes.models import Node

    try:
        node = db.session.get(Node, uuid.UUID(node_id))
    except ValueError:
        node = None
    return node.code if node is not None else _("another node")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
