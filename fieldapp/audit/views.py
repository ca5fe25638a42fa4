"""Audit history pages (coordinators): everything recorded about a family or an agreement."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import abort, current_app, render_template
from sqlalchemy import or_, select

from fieldapp.audit import bp
from fieldapp.audit.models import AuditEntry
from fieldapp.audit.readable import changes, node_name, readable_value, row_name
from fieldapp.audit.subjects import load_subject, related_ids
from fieldapp.auth.access import role_required
from fieldapp.extensions import db
from fieldapp.forms import page_arg
from fieldapp.labels import LABELS

ACTION_LABELS = LABELS["audit_action"]
ENTITY_LABELS = LABELS["record"]


bp.add_app_template_global(changes, "audit_changes")
bp.add_app_template_global(node_name, "audit_node")
bp.add_app_template_global(row_name, "row_name")
bp.add_app_template_global(readable_value, "readable_value")


@bp.app_template_global()
def audit_action_label(action: str) -> Any:
    """An audit action in the user's language."""
    return ACTION_LABELS.get(action, action)


@bp.app_template_filter("audit_value")
def audit_value(value: Any, limit: int = 120) -> str:
    """A recorded value, short enough for a table cell."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _page(stmt: Any) -> Any:
    page = page_arg()
    return db.paginate(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()), page=page,
                       per_page=current_app.config["AUDIT_PER_PAGE"], error_out=False)


@bp.route("/families/<uuid:family_id>")
@role_required("coordinator")
def family_history(family_id: uuid.UUID):
    """Everything recorded about a family: record, agreements, attendance, deliveries, visits."""
    family = load_subject("family", family_id)
    if family is None:
        abort(404)
    # ``entity_id`` too: the foundation's create_family records its entry before the family has
    # an id, so that entry's ``family_id`` is empty.
    pagination = _page(select(AuditEntry).where(
        or_(AuditEntry.family_id == family.id, AuditEntry.entity_id == family.id)))
    return render_template("audit/history.html", pagination=pagination, family=family,
                           agreement=None, entity_labels=ENTITY_LABELS)


@bp.route("/agreements/<uuid:agreement_id>")
@role_required("coordinator")
def agreement_history(agreement_id: uuid.UUID):
    """Everything recorded about an agreement: versions, signatures, status, deliveries, visits."""
    agreement = load_subject("agreement", agreement_id)
    if agreement is None:
        abort(404)
    # Signatures, deliveries, visits, sanctions: registered by their domains (subjects.py).
    related = related_ids("agreement", agreement.id)
    stmt = select(AuditEntry).where(
        or_(AuditEntry.entity_id == agreement.id, *(AuditEntry.entity_id.in_(s) for s in related))
    )
    pagination = _page(stmt)
    return render_template("audit/history.html", pagination=pagination, family=agreement.family,
                           agreement=agreement, entity_labels=ENTITY_LABELS)
