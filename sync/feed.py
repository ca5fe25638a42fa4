"""Central's pull feed: pages of changes after a node's cursor, in the node's scope.

A page names the rows changed after the cursor (up to the *horizon*, the last number committed
when the page was read) and carries each row's **current** state, grouped by table as columns
and rows (compact, and several changes of one row cost one row). A node never receives back
what it sent itself unless central changed it (merged, flagged). Rows central deleted are listed
by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from sync.engine import AppState, NodeInfo
from sync.fastsql import is_sqlite, sqlite_table
from sync.registry import TableSpec


def horizon(state: AppState, session: Session) -> int:
    """The last ``server_seq`` committed (every number up to it is visible)."""
    t = state.tables.state
    return int(session.execute(select(t.c.value).where(t.c.key == "server_seq")).scalar_one())


def _encode_rows(spec: TableSpec, rows: list[Any]) -> list[list[Any]]:
    codec = spec.codec
    plan = [(i, codec.encoders[c]) for i, c in enumerate(codec.columns)]
    # Most columns are already JSON (text, numbers): only convert the others.
    converting = [(i, enc) for i, enc in plan if enc.__name__ != "_same"]
    out = []
    for row in rows:
        values = list(row)
        for i, enc in converting:
            v = values[i]
            if v is not None:
                values[i] = enc(v)
        out.append(values)
    return out


def pull_page(state: AppState, session: Session, node: NodeInfo, cursor: int,
              limit: int, own_gap: list[int] | None = None) -> dict[str, Any]:
    """The next page for ``node`` after ``cursor``: ``{"c", "m", "h", "t"}``.

    ``c`` is the cursor to save after applying the page, ``m`` whether more pages follow, ``h``
    the horizon, ``t`` a list of ``{"n": table, "k": columns, "r": rows, "x": deleted ids}``.
    ``own_gap`` ``[low, high]``: the node's own operations in that range are sent back too (its
    database was restored from a backup that predates them).
    """
    top = horizon(state, session)
    if cursor >= top:
        return {"c": cursor, "m": False, "h": top, "t": []}
    ch = state.tables.changes
    others = [ch.c.node_id.is_(None), ch.c.node_id != node.id, ch.c.echo.is_(True)]
    if own_gap:
        others.append(and_(ch.c.node_seq > own_gap[0], ch.c.node_seq <= own_gap[1]))
    conditions = [
        ch.c.server_seq > cursor,
        ch.c.server_seq <= top,
        ch.c.op != "n",
        or_(*others),
    ]
    if node.scope is not None:
        scope = list(node.scope) or [uuid.UUID(int=0)]
        conditions.append(or_(ch.c.community_id.is_(None), ch.c.community_id.in_(scope)))
        conditions.append(or_(ch.c.community_id2.is_(None), ch.c.community_id2.in_(scope)))
    fast = is_sqlite(session)
    # On SQLite the ids stay as stored (32 hex digits): no UUID object per entry.
    row_id = type_coerce(ch.c.row_id, String) if fast else ch.c.row_id
    entries = session.execute(
        select(ch.c.server_seq, ch.c.table_name, row_id)
        .where(and_(*conditions))
        .order_by(ch.c.server_seq)
        .limit(limit)
    ).all()
    more = len(entries) >= limit
    new_cursor = entries[-1][0] if more else top
    wanted: dict[str, dict[Any, None]] = {}
    for _seq, table_name, entry_id in entries:
        wanted.setdefault(table_name, {})[entry_id] = None
    tables = []
    registry = state.registry
    for name in sorted(wanted, key=lambda n: registry.order.get(n, 999)):
        spec = registry.get(name)
        if spec is None:
            continue
        ids = list(wanted[name])
        t = spec.table
        if fast:
            st = sqlite_table(t)
            raw: list[Any] = []
            conn = session.connection()
            for start in range(0, len(ids), 900):
                chunk = tuple(ids[start : start + 900])
                marks = ",".join("?" * len(chunk))
                raw.extend(conn.exec_driver_sql(f"{st.select_sql} WHERE id IN ({marks})",
                                                chunk).fetchall())
            found = {values[st.id_index] for values in raw}
            gone = [str(uuid.UUID(hex=i)) for i in ids if i not in found]
            encoded = st.wire_rows(raw)
            columns = st.columns
        else:
            rows: list[Any] = []
            for start in range(0, len(ids), 900):
                rows.extend(session.execute(select(t).where(t.c.id.in_(ids[start : start + 900]))))
            found = {row.id for row in rows}
            gone = [str(i) for i in ids if i not in found]
            encoded = _encode_rows(spec, rows)
            columns = spec.codec.columns
        block: dict[str, Any] = {"n": name, "k": columns, "r": encoded}
        if gone:
            block["x"] = gone
        tables.append(block)
    return {"c": new_cursor, "m": more, "h": top, "t": tables}
