"""What central works out from a node's handshake: whether it speaks the node's protocol and
schema, how far the node's clock is off, the refusals the node may not have heard of, and
whether its pull cursor still names a change of this log (``sync/README.md``, "POST
/sync/v1/handshake").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import errors
from sync.capture.changelog import entry_mark
from sync.state import PROTOCOL_VERSION, AppState, NodeInfo

#: A clock skew is kept within what an integer column holds (68 years either way).
SKEW_BOUND = 2**31 - 1


def node_json(node: NodeInfo) -> dict[str, Any]:
    """The node as the handshake names it: id, code, name and the communities it serves."""
    return {
        "id": str(node.id), "code": node.code, "name": node.name,
        "scope": None if node.scope is None else sorted(str(c) for c in node.scope),
    }


def check_versions(state: AppState, session: Session, body: dict[str, Any]) -> str:
    """Refuse a node whose protocol or schema this central does not speak."""
    protocol = body.get("protocol")
    if type(protocol) is not int or protocol != PROTOCOL_VERSION:  # true is not 1
        raise errors.ProtocolUnsupported(
            f"Central speaks sync protocol {PROTOCOL_VERSION}, the node {protocol}.",
            central=PROTOCOL_VERSION, node=protocol)
    ours = state.schema_version(session)
    theirs = body.get("schema")
    accepted = {ours, *state.config("SYNC_ACCEPT_SCHEMAS")}
    if not isinstance(theirs, str) or theirs not in accepted:
        raise errors.SchemaMismatch(
            f"Central's database is at version {ours}, the node's at {theirs}.",
            central=ours, node=theirs)
    return ours


def cursor_lost(state: AppState, session: Session, cursor: Any, mark: Any, top: int) -> bool:
    """Whether the node's cursor names a change this log does not hold as the node saw it:
    past the horizon, or another entry under its number (central restored from a backup,
    numbering new changes again). The node then pulls its scope again from the start."""
    if type(cursor) is not int or cursor <= 0:
        return False
    if cursor > top:
        return True
    return type(mark) is str and mark != entry_mark(state, session, cursor)


def clock_skew(state: AppState, node_time: Any) -> int | None:
    """The node's clock minus central's, in seconds, when beyond the tolerance."""
    if not isinstance(node_time, str):
        return None
    try:
        theirs = datetime.fromisoformat(node_time)
    except ValueError:
        return None
    if theirs.tzinfo is None:
        return None
    skew = (theirs - state.now()).total_seconds()
    if abs(skew) <= float(state.config("SYNC_CLOCK_TOLERANCE")):
        return 0
    return int(max(-SKEW_BOUND, min(skew, SKEW_BOUND)))


def missed_refusals(state: AppState, session: Session, node_id: uuid.UUID, after: int,
                    upto: int) -> list[dict[str, Any]]:
    """Central's refusals of the node's operations numbered in ``(after, upto]``: the node
    acknowledged ``after``, so the answers it may have lost are re-told."""
    if upto <= after:
        return []
    q = state.tables.quarantine
    rows = session.execute(
        select(q.c.node_seq, q.c.code, q.c.message).where(
            q.c.direction == "push", q.c.node_id == node_id, q.c.node_seq > after,
            q.c.node_seq <= upto,
        ).order_by(q.c.node_seq)
    )
    return [{"s": s, "code": c, "message": m} for s, c, m in rows]
