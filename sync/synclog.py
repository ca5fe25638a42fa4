"""The sync log (``sync_log``): one entry per sync on a field node, one per request per node on
central. Each node's part keeps its newest ``SYNC_LOG_KEEP`` entries; the screens show the
latest hundred."""

from __future__ import annotations

import uuid
from math import isfinite
from typing import Any

from blinker import Namespace
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from sync.state import AppState
from sync.storage.codec import INT_MAX, INT_MIN, storable

#: Sent (sender: the app) for every entry written, with its ``action``, ``ok``, ``code``,
#: ``duration_ms``, ``detail`` and ``node_id``: what an operator's metrics count
#: (``fieldapp.monitoring``) without the engine knowing of them.
logged = Namespace().signal("sync-logged")


def _plain(value: Any) -> Any:
    """A detail as JSON every database keeps (some are what a node reported): text, finite
    numbers, integers of 64 bits, booleans; anything else as (short) text."""
    if value is None or type(value) is bool:
        return value
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return value
    if type(value) is float and isfinite(value):
        return value
    return storable(value if type(value) is str else repr(value), 200)


def write(state: AppState, session: Session, node_id: uuid.UUID | None, action: str,
          ok: bool, duration_ms: int, code: str | None = None, message: str | None = None,
          detail: dict[str, Any] | None = None, at: Any = None) -> None:
    """Add an entry (``node_id`` ``None``: the field node's own syncs) in ``session``'s
    transaction, and now and then drop that node's entries beyond the newest
    ``SYNC_LOG_KEEP``."""
    t = state.tables.log
    entry_id = session.execute(insert(t).values(
        at=at or state.now(), node_id=node_id, action=action, ok=ok,
        code=None if code is None else storable(code, 40),
        message=None if message is None else storable(message),
        detail={key: _plain(value) for key, value in detail.items()} if detail else None,
        duration_ms=duration_ms,
    )).inserted_primary_key[0]
    if logged.receivers:
        logged.send(state.app, action=action, ok=ok, code=code, duration_ms=duration_ms,
                    detail=detail or {}, node_id=node_id)
    keep = int(state.config("SYNC_LOG_KEEP") or 0)
    if keep <= 0 or entry_id % min(100, keep):  # trim once every hundred entries
        return
    same = t.c.node_id.is_(None) if node_id is None else t.c.node_id == node_id
    oldest_kept = session.execute(
        select(t.c.id).where(same).order_by(t.c.id.desc()).offset(keep - 1).limit(1)
    ).scalar()
    if oldest_kept is not None:
        session.execute(delete(t).where(same, t.c.id < oldest_kept))
