"""Numbers handed out from a counter row of the engine's state table, in commit order: ``node_seq``
for a field node's captured operations, ``server_seq`` for central's change log.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from sync.state import AppState


def allocate_seqs(state: AppState, session: Session, key: str, count: int) -> int:
    """Reserve ``count`` numbers of counter ``key`` in this transaction; returns the first.

    The counter row stays locked until the transaction ends: numbers are handed out in commit
    order and a rollback gives them back.
    """
    t = state.tables.state
    top = session.execute(
        update(t).where(t.c.key == key).values(value=t.c.value + count).returning(t.c.value)
    ).scalar_one()
    return int(top) - count + 1
