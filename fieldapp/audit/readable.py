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
HIDDEN = {"id", "origin_node", "signed_content", "search_text", "image_sha256", "status_token",
          "undo"}  # what undoing a merge needs (merges.operations.UNDO_KEY)
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
    ("families", "withdrawn_reason"): "withdrawal_reason",
    ("grievances", "status"): "grievance_status",
    ("grievances", "channel"): "grievance_channel",
    ("grievances", "related_kind"): "grievance_related",
    ("grievances", "category"): "grievance_category",
}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


#: Key, in ``app.extensions``, of the function naming records per reference column.
NAMES_KEY = "fieldapp.audit_record_names"

RecordNames = dict[str, tuple[Any, Any]]


def register_record_names(app: Any, names: Any) -> None:
    """Let the history pages name records: ``names(locale)`` returns, per reference column
    (``family_id``, ``agreement_id``, ``node_id``...), the model and how a person names one of
    its records. The records belong to domains above the audit log, so the app factory (which
    may import every domain) registers it; this module imports none."""
    app.extensions[NAMES_KEY] = names


def _record_models() -> RecordNames:
    """Per reference column: the model and how a person names one of its records."""
    names = current_app.extensions.get(NAMES_KEY)
    return names(str(get_locale() or "es")) if names is not None else {}


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
    model, name = _record_models().get("commitment_type_id", (None, None))
    if model is None:
        return {}
    rows = db.session.execute(select(model).where(model.code.in_(codes)))
    return {c.code: name(c) for c in rows.scalars()}


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
    model, name = _record_models().get("node_id", (None, None))
    try:
        node = db.session.get(model, uuid.UUID(node_id)) if model is not None else None
    except ValueError:
        node = None
    return name(node) if node is not None else _("another node")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
