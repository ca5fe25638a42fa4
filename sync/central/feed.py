"""Central's pull feed: pages of changes after a node's cursor, in the node's scope.

A page names the rows changed after the cursor (up to the *horizon*, the last number committed
when the page was read) and carries each row's **current** state, grouped by table as columns
and rows (compact, and several changes of one row cost one row). A node never receives back
what it sent itself unless central changed it (merged, flagged). Rows central deleted, and rows
that moved out of the node's scope (:mod:`sync.capture.moves`), are listed by id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from sync.capture.changelog import entry_mark
from sync.registry import MISSING, TableSpec
from sync.state import AppState, NodeInfo
from sync.storage.codec import wire_kind
from sync.storage.fastpg import is_postgres
from sync.storage.fastsql import is_sqlite, sqlite_table


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


class _PostgresReader:
    """One table's rows read by id and turned into wire values on PostgreSQL, without
    SQLAlchemy's per-value result processing: the server writes UUIDs as text (the same text
    as ``str(uuid)``), timestamps (naive UTC, as the app stores them) are formatted inline, and
    the other columns that need it go through the table's codec (:func:`_encode_rows` is the
    reference; a test compares both)."""

    def __init__(self, spec: TableSpec) -> None:
        columns = spec.codec.columns
        kinds = {c.key: wire_kind(c.type) for c in spec.table.columns}
        selected = [f'"{c}"::text' if kinds[c] == "uuid" else f'"{c}"' for c in columns]
        # Names come from the app's own metadata, never from a request.
        self.sql = (f'SELECT {", ".join(selected)} FROM "{spec.table.name}" '  # noqa: S608
                    "WHERE id = ANY(%(ids)s)")
        namespace: dict[str, Any] = {"_datetime": datetime}
        names = [f"v{i}" for i in range(len(columns))]
        parts = []
        for i, column in enumerate(columns):
            v = names[i]
            kind = kinds[column]
            if kind in ("uuid", "float", "int", "bool", "json", "str"):
                parts.append(v)  # as the server or psycopg gives them: already wire values
                continue
            namespace[f"e{i}"] = spec.codec.encoders[column]
            if kind == "datetime":
                parts.append(f'(None if {v} is None else {v}.isoformat() + "+00:00" '
                             f"if type({v}) is _datetime and {v}.tzinfo is None else e{i}({v}))")
            else:
                parts.append(f"(None if {v} is None else e{i}({v}))")
        source = (f"def convert(r):\n    {', '.join(names)}, = r\n"
                  f"    return [{', '.join(parts)}]")
        exec(source, namespace)  # noqa: S102 - code made from our own column names
        self.convert = namespace["convert"]


_readers: dict[Any, _PostgresReader] = {}


def postgres_rows(session: Session, spec: TableSpec, ids: list[Any]) -> list[list[Any]]:
    """The rows of ``spec``'s table with these ids as wire values (PostgreSQL), one statement
    with the ids as one array (an IN list of 900 parameters cost psycopg more to rewrite than
    the statement cost the server to run)."""
    reader = _readers.get(spec.table)
    if reader is None:
        reader = _readers[spec.table] = _PostgresReader(spec)
    raw = session.connection().exec_driver_sql(reader.sql, {"ids": list(ids)}).fetchall()
    convert = reader.convert
    return [convert(row) for row in raw]


def pull_page(state: AppState, session: Session, node: NodeInfo, cursor: int,
              limit: int, own_gap: list[int] | None = None, skip: int = 0) -> dict[str, Any]:
    """The next page for ``node`` after ``cursor``: ``{"c", "m", "h", "t"}``.

    ``c`` is the cursor to save after applying the page, ``f`` the mark of its change-log
    entry (:func:`sync.capture.changelog.entry_mark`), ``m`` whether more pages follow, ``h`` the
    horizon, ``t`` a list of ``{"n": table, "k": columns, "r": rows, "x": deleted ids}``.
    ``own_gap`` ``[low, high]``: the node's own operations in that range are sent back too (its
    database was restored from a backup that predates them).
    ``skip`` 1: the page *after* the next one (the node asked for the next one on its other
    connection); it also names the cursor it starts from, ``s``. When the next page is the
    last, the page after it is empty and starts at the horizon.
    """
    top = horizon(state, session)
    start = cursor
    if skip:
        end = _page_end(state, session, node, cursor, limit, top, own_gap)
        start = top if end is None else end
    if start >= top:
        page: dict[str, Any] = {"c": start, "m": False, "h": top, "t": []}
    elif is_sqlite(session):
        page = _sqlite_page(state, session, node, start, limit, top, own_gap)
    else:
        page = _postgres_page(state, session, node, start, limit, top, own_gap)
    if page["t"]:
        _leave_out_withheld(state, page)
    if page["t"] and node.scope is not None:
        _remove_moved(state, session, node, page, start)
    if skip:
        page["s"] = start
    if page["c"] > 0:  # the node keeps it with its cursor (see handshake)
        page["f"] = entry_mark(state, session, page["c"])
    return page


def _leave_out_withheld(state: AppState, page: dict[str, Any]) -> None:
    """Rows no node may receive (``TableSpec.withhold``: a confidential grievance) leave the page.

    They are left out, not listed as removed: no node ever received one (the column never
    changes), and the node that made one keeps its own copy.
    """
    registry = state.registry
    for block in page["t"]:
        spec = registry.get(block["n"])
        if spec is None or spec.withhold is None:
            continue
        at = block["k"].index(spec.withhold)
        block["r"] = [values for values in block["r"] if not values[at]]


def _remove_moved(state: AppState, session: Session, node: NodeInfo, page: dict[str, Any],
                  start: int) -> None:
    """Rows of ``page`` that moved out of ``node``'s scope go as removals, never as rows.

    A page carries each row as it is *now*, found through entries written where the row was
    *then*: a row that moved since (a family to another community, and every row below it)
    would reach nodes of its old place with values they may not see. A move leaves a removal
    notice (:mod:`sync.capture.moves`) after the entries it makes stale, at the place it left, so
    only rows with a notice in the node's scope after the page's start can be out of place: their
    current place is checked (nothing to do, one look-up of a small index, when nothing
    moved). The notices are read *after* the rows
    and up to the end of the log, not the horizon: a move committed while the page was read
    is seen here if its row was read as moved.
    """
    ch = state.tables.changes
    scope = node.scope
    # Only notices in the node's scope: a row that reached it through an entry and moved
    # since left, at its next move, from the place that entry names (in the scope).
    places = list(scope) or [uuid.UUID(int=0)]
    moved: dict[str, set[str]] = {}
    # A literal 'r' (not a parameter), so that both databases use the partial index, and
    # nothing but its columns: it answers alone.
    for name, row_id in session.execute(
            select(ch.c.table_name, ch.c.row_id).where(
                ch.c.server_seq > start, text("op = 'r'"),
                or_(ch.c.community_id.is_(None), ch.c.community_id.in_(places)),
                or_(ch.c.community_id2.is_(None), ch.c.community_id2.in_(places)))):
        moved.setdefault(name, set()).add(str(row_id))
    if not moved:
        return
    registry = state.registry
    for block in page["t"]:
        ids = moved.get(block["n"])
        if not ids:
            continue
        at = block["k"].index("id")
        candidates = [values[at] for values in block["r"] if values[at] in ids]
        if not candidates:
            continue
        places = registry.places_of_ids(session, block["n"],
                                        [uuid.UUID(i) for i in candidates])
        out = {
            str(row_id) for row_id, place in places.items()
            if not all(c is None or (c is not MISSING and c in scope) for c in place)
        }
        if not out:
            continue
        block["r"] = [values for values in block["r"] if values[at] not in out]
        gone = block.setdefault("x", [])
        known = set(gone)
        gone.extend(i for i in sorted(out) if i not in known)


def _page_end(state: AppState, session: Session, node: NodeInfo, cursor: int, limit: int,
              top: int, own_gap: list[int] | None) -> int | None:
    """Where the page after ``cursor`` ends when it is full (``None``: it is the last), as
    :func:`pull_page` would end it. The log below the horizon no longer changes, so a full
    page ends there whenever it is read."""
    if cursor >= top:
        return None
    if is_sqlite(session):  # the limit-th entry after the cursor, if there is one
        condition, bound = _sqlite_condition(state, node, cursor, top, own_gap)
        ch = sqlite_table(state.tables.changes).quoted_name
        end = session.connection().exec_driver_sql(
            f"SELECT server_seq FROM {ch} WHERE {condition} "  # noqa: S608 - our own names
            "ORDER BY server_seq LIMIT 1 OFFSET ?", (*bound, limit - 1)).scalar()
        return None if end is None else int(end)
    entries = _postgres_entries(state, session, node, cursor, limit, top, own_gap)
    return entries[-1][0] if len(entries) >= limit else None


def _postgres_entries(state: AppState, session: Session, node: NodeInfo, cursor: int,
                      limit: int, top: int, own_gap: list[int] | None) -> list[Any]:
    """The first ``limit`` entries for ``node`` after ``cursor`` (up to ``top``):
    ``(server_seq, table_name, row_id)``."""
    ch = state.tables.changes
    others = [ch.c.node_id.is_(None), ch.c.node_id != node.id, ch.c.echo.is_(True)]
    if own_gap:
        others.append(and_(ch.c.node_seq > own_gap[0], ch.c.node_seq <= own_gap[1]))
    conditions = [ch.c.op != "n", or_(*others)]  # and the window of the log, below
    if node.scope is not None:
        scope = list(node.scope) or [uuid.UUID(int=0)]
        conditions.append(or_(ch.c.community_id.is_(None), ch.c.community_id.in_(scope)))
        conditions.append(or_(ch.c.community_id2.is_(None), ch.c.community_id2.in_(scope)))
    # The entries are read window by window of the log (each at most a few times the page),
    # not as "the first `limit` after the cursor" at once: without table statistics (a new
    # central) PostgreSQL read every entry up to the horizon and sorted them for each page,
    # 0.2 s a page at the start of a scale-10 pull.
    entries: list[Any] = []
    low, window = cursor, limit * 4
    while len(entries) < limit and low < top:
        high = min(top, low + window)
        entries.extend(session.execute(
            select(ch.c.server_seq, ch.c.table_name, ch.c.row_id)
            .where(and_(*conditions, ch.c.server_seq > low, ch.c.server_seq <= high))
            .order_by(ch.c.server_seq)
            .limit(limit - len(entries))
        ).all())
        low, window = high, window * 2
    return entries


def _postgres_page(state: AppState, session: Session, node: NodeInfo, cursor: int,
                   limit: int, top: int, own_gap: list[int] | None) -> dict[str, Any]:
    """:func:`pull_page` on PostgreSQL (and any other database but SQLite)."""
    entries = _postgres_entries(state, session, node, cursor, limit, top, own_gap)
    more = len(entries) >= limit
    new_cursor = entries[-1][0] if more else top
    wanted: dict[str, dict[Any, None]] = {}
    for _seq, table_name, entry_id in entries:
        wanted.setdefault(table_name, {})[entry_id] = None
    tables = []
    registry = state.registry
    postgres = is_postgres(session)
    for name in sorted(wanted, key=lambda n: registry.order.get(n, 999)):
        spec = registry.get(name)
        if spec is None:
            continue
        ids = list(wanted[name])
        t = spec.table
        if postgres:
            encoded = postgres_rows(session, spec, ids)
            at = spec.codec.columns.index("id")
            present = {values[at] for values in encoded}
            gone = [str(i) for i in ids if str(i) not in present]
        else:
            rows: list[Any] = []
            for start in range(0, len(ids), 900):
                rows.extend(session.execute(
                    select(t).where(t.c.id.in_(ids[start : start + 900]))).all())
            found = {row.id for row in rows}
            gone = [str(i) for i in ids if i not in found]
            encoded = _encode_rows(spec, rows)
        block: dict[str, Any] = {"n": name, "k": spec.codec.columns, "r": encoded}
        if gone:
            block["x"] = gone
        tables.append(block)
    return {"c": new_cursor, "m": more, "h": top, "t": tables}


def _sqlite_condition(state: AppState, node: NodeInfo, cursor: int, top: int,
                      own_gap: list[int] | None) -> tuple[str, tuple]:
    """The change log's entries for ``node`` in ``(cursor, top]``: a ``WHERE`` condition and
    its parameters (``cursor`` and ``top`` first)."""
    where = ["server_seq > ?", "server_seq <= ?", "op != 'n'"]
    others = "node_id IS NULL OR node_id != ? OR echo = 1"
    params: list[Any] = [cursor, top, node.id.hex]
    if own_gap:
        others += " OR (node_seq > ? AND node_seq <= ?)"
        params += [int(own_gap[0]), int(own_gap[1])]
    where.append(f"({others})")
    if node.scope is not None:
        scope = [c.hex for c in node.scope] or [uuid.UUID(int=0).hex]
        marks = ",".join("?" * len(scope))
        where.append(f"(community_id IS NULL OR community_id IN ({marks}))")
        where.append(f"(community_id2 IS NULL OR community_id2 IN ({marks}))")
        params += scope + scope
    return " AND ".join(where), tuple(params)


def _sqlite_page(state: AppState, session: Session, node: NodeInfo, cursor: int, limit: int,
                 top: int, own_gap: list[int] | None) -> dict[str, Any]:
    """:func:`pull_page` on SQLite, set-wise: the page's end is found in the change log, then
    each table's rows are read joined to the log's entries up to it (one statement per table,
    rows in the order they first changed, each once) and converted straight from what SQLite
    stores to the wire (:meth:`sync.storage.fastsql.SqliteTable.wire_rows`), without SQLAlchemy's
    per-row cost or a round trip through Python of the entries themselves."""
    ch = sqlite_table(state.tables.changes).quoted_name
    conn = session.connection()
    end = _page_end(state, session, node, cursor, limit, top, own_gap)
    more = end is not None
    new_cursor = int(end) if more else top
    condition, bound = _sqlite_condition(state, node, cursor, new_cursor, own_gap)
    # Each table of the page and how many of its rows changed (some may be gone since).
    counts = conn.exec_driver_sql(
        f"SELECT table_name, count(DISTINCT row_id) FROM {ch} "  # noqa: S608 - our own names
        f"WHERE {condition} GROUP BY table_name", bound).all()
    registry = state.registry
    dbapi = conn.connection.driver_connection
    tables = []
    for name, changed in sorted(counts, key=lambda nc: registry.order.get(nc[0], 999)):
        spec = registry.get(name)
        if spec is None:
            continue
        st = sqlite_table(spec.table)
        entries = (f"SELECT row_id, min(server_seq) AS first FROM {ch} "  # noqa: S608
                   f"WHERE {condition} AND table_name = ? GROUP BY row_id")
        cols = ", ".join(f't."{c}"' for c in st.columns)
        raw = dbapi.execute(
            f"SELECT {cols} FROM ({entries}) AS e JOIN {st.quoted_name} AS t "  # noqa: S608
            "ON t.id = e.row_id ORDER BY e.first", (*bound, name)).fetchall()
        block: dict[str, Any] = {"n": name, "k": st.columns, "r": st.wire_rows(raw)}
        if len(raw) < changed:
            block["x"] = [str(uuid.UUID(hex=row_id)) for (row_id,) in dbapi.execute(
                f"SELECT e.row_id FROM ({entries}) AS e WHERE NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {st.quoted_name} AS t WHERE t.id = e.row_id) "
                "ORDER BY e.first", (*bound, name))]
        tables.append(block)
    return {"c": new_cursor, "m": more, "h": top, "t": tables}
