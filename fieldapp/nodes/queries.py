"""Read helpers for the sync screens: the dashboard's figures, logs, conflicts, quarantine."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from fieldapp.extensions import db
from fieldapp.nodes.models import SYNC_TABLES as T
from fieldapp.nodes.models import Node
from sync.state import DEFAULTS as SYNC_DEFAULTS


def dashboard_rows() -> list[dict[str, Any]]:
    """Every node with its sync facts, open conflicts and quarantined records."""
    nodes = db.session.execute(
        select(Node).options(selectinload(Node.communities)).order_by(Node.code)
    ).scalars().all()
    conflicts = dict(db.session.execute(
        select(T.conflicts.c.node_id, func.count()).where(T.conflicts.c.status == "open")
        .group_by(T.conflicts.c.node_id)).all())
    held = dict(db.session.execute(
        select(T.quarantine.c.node_id, func.count()).where(
            T.quarantine.c.direction == "push", T.quarantine.c.resolved_at.is_(None))
        .group_by(T.quarantine.c.node_id)).all())
    applied = dict(db.session.execute(
        select(T.node_state.c.node_id, T.node_state.c.last_applied_seq)).all())
    tolerance = float(current_app.config.get("SYNC_CLOCK_TOLERANCE",
                                            SYNC_DEFAULTS["SYNC_CLOCK_TOLERANCE"]))
    return [
        {
            "node": node,
            "open_conflicts": conflicts.get(node.id, 0),
            "quarantined": held.get(node.id, 0),
            "last_applied": applied.get(node.id, 0),
            "clock_off": node.clock_skew_s is not None and abs(node.clock_skew_s) > tolerance,
        }
        for node in nodes
    ]


def node_log(node_id: uuid.UUID, limit: int = 100) -> list[Any]:
    """The node's latest sync requests, newest first."""
    return db.session.execute(
        select(T.log).where(T.log.c.node_id == node_id).order_by(T.log.c.id.desc()).limit(limit)
    ).all()


def local_log(limit: int = 30) -> list[Any]:
    """This field node's latest syncs, newest first."""
    return db.session.execute(
        select(T.log).where(T.log.c.node_id.is_(None), T.log.c.action == "sync")
        .order_by(T.log.c.id.desc()).limit(limit)
    ).all()


def central_quarantine(node_id: uuid.UUID | None = None, limit: int = 200) -> list[Any]:
    """Operations central refused (newest first), for one node or all."""
    stmt = select(T.quarantine).where(T.quarantine.c.direction == "push")
    if node_id is not None:
        stmt = stmt.where(T.quarantine.c.node_id == node_id)
    return db.session.execute(stmt.order_by(T.quarantine.c.id.desc()).limit(limit)).all()


def node_codes() -> dict[uuid.UUID, str]:
    return dict(db.session.execute(select(Node.id, Node.code)).all())


def local_quarantine() -> list[dict[str, Any]]:
    """What this field node holds back: refused operations and pulled rows it could not apply."""
    o = T.outbox
    refused = [
        {"kind": "push", "seq": r.seq, "table": r.table_name, "row_id": r.row_id,
         "code": r.error_code, "message": r.error_message, "at": r.done_at}
        for r in db.session.execute(
            select(o).where(o.c.status == "quarantined").order_by(o.c.seq)).all()
    ]
    q = T.quarantine
    failed = [
        {"kind": "pull", "seq": None, "table": r.table_name, "row_id": r.row_id,
         "code": r.code, "message": r.message, "at": r.created_at}
        for r in db.session.execute(
            select(q).where(q.c.direction == "pull", q.c.resolved_at.is_(None))
            .order_by(q.c.id)).all()
    ]
    return refused + failed


def conflicts(status: str = "open", limit: int = 200) -> list[Any]:
    c = T.conflicts
    return db.session.execute(
        select(c).where(c.c.status == status).order_by(c.c.id.desc()).limit(limit)).all()


def conflict_families(rows: list[Any]) -> dict[Any, str]:
    """"code — head of household" of the families named by ``duplicate_dni`` conflicts."""
    from fieldapp.families.models import Family

    ids = {i for r in rows if r.kind == "duplicate_dni" for i in (r.row_id, r.other_row_id) if i}
    if not ids:
        return {}
    return {f.id: f"{f.code} — {f.head_name}" for f in db.session.execute(
        select(Family).where(Family.id.in_(ids))).scalars()}


def conflict(conflict_id: int) -> Any:
    return db.session.execute(select(T.conflicts).where(T.conflicts.c.id == conflict_id)).first()


def open_conflict_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(T.conflicts).where(T.conflicts.c.status == "open")) or 0
