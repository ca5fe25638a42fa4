"""Central's change log: every change, numbered by ``server_seq`` in commit order.

The numbers come from one counter row updated (and so locked) just before the transaction
commits: a writer that takes numbers holds the lock until it commits, the next writer waits for
it and continues after it. A reader that sees number N therefore sees every number below N; a
pull cursor can never step over a change that a slow concurrent writer commits late.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, insert, select
from sqlalchemy.orm import Session

from sync.capture.counters import allocate_seqs
from sync.registry import MISSING
from sync.state import AppState
from sync.storage.fastpg import copy_rows, is_postgres
from sync.storage.fastsql import is_sqlite, sqlite_table

_UNSET = object()
_COLUMNS = ("server_seq", "table_name", "row_id", "op", "community_id", "community_id2",
            "node_id", "node_seq", "echo", "op_digest", "committed_at")

#: Community of a row whose parent cannot be found: no node's scope holds it.
NOWHERE = uuid.UUID(int=0)


@dataclass(slots=True)
class Change:
    """One entry of the change log (before it gets its number)."""

    table_name: str
    row_id: uuid.UUID
    op: str
    community_id: uuid.UUID | None
    community_id2: uuid.UUID | None = None
    node_id: uuid.UUID | None = None
    node_seq: int | None = None
    echo: bool = False
    op_digest: str | None = None
    #: ``row_id`` as SQLite stores it (32 hex digits), when already at hand.
    row_hex: str | None = None


def log_place(value: Any) -> uuid.UUID | None:
    """A row's community as the change log stores it (:data:`NOWHERE` for a missing parent)."""
    return NOWHERE if value is MISSING else value


def entries_for_rows(state: AppState, session: Session, name: str,
                     items: list[tuple[uuid.UUID, str, dict[str, Any]]],
                     cache: dict | None = None) -> list[Change]:
    """Change entries for rows of one table changed on central itself.

    :param items: (row id, ``u`` or ``d``, the row's values as Python objects).
    """
    spec = state.registry.specs[name]
    op_of = "u" if spec.distribute else "n"
    places = state.registry.communities_of_rows(session, name, [v for _i, _o, v in items], cache)
    return [
        Change(name, row_id, op if op == "d" else op_of, log_place(c1), log_place(c2))
        for (row_id, op, _values), (c1, c2) in zip(items, places, strict=True)
    ]


def append_changes(state: AppState, session: Session, entries: list[Change]) -> int:
    """Number ``entries`` (under the counter's lock) and add them to the log.

    :returns: the last number given (0 when there was nothing to add).
    """
    if not entries:
        return 0
    first = allocate_seqs(state, session, "server_seq", len(entries))
    state.fault("central.changelog_numbered")
    now = state.now()
    t = state.tables.changes
    if is_sqlite(session):
        fast = sqlite_table(t)
        assert fast.columns == list(_COLUMNS)
        when = fast.to_db["committed_at"](now.isoformat())
        hexes: dict[Any, str | None] = {None: None}

        def hx(value: Any) -> str | None:
            found = hexes.get(value, _UNSET)
            if found is _UNSET:
                found = hexes[value] = value.hex
            return found

        # Table names are SQLAlchemy's quoted_name (a str subclass): sqlite3 adapts those
        # one attribute lookup at a time; plain str goes straight in.
        names: dict[str, str] = {}
        for e in entries:
            if e.table_name not in names:
                names[e.table_name] = str(e.table_name)
        known = hexes.get
        params = [
            (first + n, names[e.table_name], e.row_hex or e.row_id.hex, e.op,
             known(e.community_id) or hx(e.community_id),
             known(e.community_id2) or hx(e.community_id2),
             known(e.node_id) or hx(e.node_id), e.node_seq, 1 if e.echo else 0, e.op_digest,
             when)
            for n, e in enumerate(entries)
        ]
        session.connection().exec_driver_sql(fast.insert_sql, params)
    else:
        rows = [
            {
                "server_seq": first + n, "table_name": e.table_name, "row_id": e.row_id,
                "op": e.op, "community_id": e.community_id, "community_id2": e.community_id2,
                "node_id": e.node_id, "node_seq": e.node_seq, "echo": e.echo,
                "op_digest": e.op_digest, "committed_at": now,
            }
            for n, e in enumerate(entries)
        ]
        if is_postgres(session):
            copy_rows(session, t, rows)
        else:
            for start in range(0, len(rows), 5000):
                session.execute(insert(t), rows[start : start + 5000])
    return first + len(entries) - 1


def entry_mark(state: AppState, session: Session, seq: int) -> str | None:
    """A short fingerprint of the change-log entry ``seq`` (``None`` when there is none).

    A node keeps the mark of the entry its cursor stands on. Central restored from a backup
    numbers new changes again from where the backup ended: the number a node's cursor names
    then holds another entry (or none yet), and the marks differ.
    """
    t = state.tables.changes
    # As stored (text), not converted: a row id a node sent that is no UUID is still marked.
    row = session.execute(select(t.c.table_name, cast(t.c.row_id, String), t.c.op,
                                 cast(t.c.committed_at, String))
                          .where(t.c.server_seq == seq)).first()
    if row is None:
        return None
    text = "|".join(str(value) for value in row)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
