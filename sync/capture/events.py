"""Change capture: every write to a synced table is recorded in the same transaction.

One mechanism, SQLAlchemy session events, so no view or operation has to remember sync:

- on a **field node**, ``after_flush`` writes one outbox entry per changed row, numbered from the
  ``node_seq`` counter in the same transaction (a rollback, even of a savepoint, takes the entry
  and its number back: numbers have no gaps). Later flushes of the same transaction fold into the
  same entry, so a request that flushes five times still makes one operation per row.
- on **central**, ``after_flush`` notes the changed rows and ``before_commit`` appends them to the
  change log under the ``server_seq`` counter's row lock, so sequence order is commit order.

Statements run through the session (``session.execute(insert(Model), rows)``, bulk
``update()``/``delete()``) skip the unit of work; the ``do_orm_execute`` event captures them too:
inserts by the ids given, updates by comparing the rows before and after (and bumping their
version, as the unit of work would). Code that writes a synced table behind the session's back
calls :func:`capture_rows` with the ids.
An update carries the changed fields and their values before the change (the *base* of the
three-way merge on central); an insert carries the whole row.

The operations are built by :mod:`sync.capture.rowops`; a field node's are numbered and
written to its outbox by :mod:`sync.capture.outbox`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, inspect, select, true
from sqlalchemy.orm import Session

from sync.capture.changelog import append_changes, entries_for_rows
from sync.capture.moves import Move, is_move, move_entries
from sync.capture.outbox import write_outbox
from sync.capture.rowops import collect_ops, delete_row_op, scope_values, update_row_ops
from sync.registry import TableSpec
from sync.state import AppState, current_state
from sync.storage.fastsql import is_sqlite, row_dicts, sqlite_table

_installed = False
_tracked: set[Any] = set()


def install() -> None:
    """Listen to every session (once per process; each event finds its app's state)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_transaction_end", _after_transaction_end)
    _installed = True


def _noop(target: Any, value: Any, oldvalue: Any, initiator: Any) -> None:
    return None


def track_old_values(registry: Any) -> None:
    """Load a column's old value before it is overwritten (it is the base of the merge)."""
    for spec in registry.specs.values():
        model = spec.model
        if model is None or model in _tracked:
            continue
        for prop in inspect(model).column_attrs:
            event.listen(getattr(model, prop.key), "set", _noop, active_history=True)
        _tracked.add(model)


def _after_flush(session: Session, flush_context: Any) -> None:
    if session.info.get("applying_remote"):
        return
    state = current_state()
    if state is None:
        return
    ops = collect_ops(state, session)
    if not ops:
        return
    state.fault("capture.outbox_write")
    if state.role == "central":
        pending = session.info.setdefault("sync_central", {})
        for op, insp, spec in ops:
            if not spec.distribute:
                continue
            values = scope_values(insp, spec)
            pending[(spec.name, uuid.UUID(op["i"]))] = ("d" if op["o"] == "d" else "u", values)
            if op["o"] == "u" and is_move(spec, op["d"]):
                old = {k: v for k, v in op.get("p", {}).items() if k in spec.path_columns}
                _note_move(session, Move(spec.name, uuid.UUID(op["i"]),
                                         {**values, **spec.codec.decode_row(old)}))
    else:
        write_outbox(state, session, [op for op, _i, _s in ops])


def capture_rows(session: Session, table: Any, ids: list[Any]) -> int:
    """Capture rows written with Core (bulk inserts bypass the ORM's events) as inserts.

    Reads the rows back, so what is captured is exactly what the database holds.

    :param table: a synced table's name, Table or mapped class.
    :param ids: the ids of the rows inserted.
    :returns: how many rows were captured.
    """
    state = current_state()
    if state is None or not ids:
        return 0
    name = table if isinstance(table, str) else getattr(table, "__tablename__", None) or table.name
    spec = state.registry.get(name)
    if spec is None:
        return 0
    now = state.now().isoformat()
    if state.role != "central" and is_sqlite(session):
        return _capture_sqlite(state, session, spec, ids, now)
    t = spec.table
    codec = spec.codec
    count = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = row_dicts(session.execute(select(t).where(t.c.id.in_(chunk))))
        if state.role == "central":
            if not spec.distribute:
                continue
            pending = session.info.setdefault("sync_central", {})
            for row in rows:
                pending[(name, row["id"])] = ("u", row)
        else:
            ops = []
            for row in rows:
                op: dict[str, Any] = {"t": name, "i": str(row["id"]), "o": "i", "a": now}
                if spec.versioned:
                    op["v"] = row["version"]
                op["d"] = codec.encode_row(row)
                ops.append(op)
            write_outbox(state, session, ops)
        count += len(rows)
    return count


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]],
                batch: int = 50_000) -> None:
    """Insert many rows of a table, each with its id, captured as a bulk ``insert()`` through
    the session would be (:func:`_bulk_insert`).

    On a PostgreSQL central (the demo program at a hundred times Alto Mayo: millions of rows)
    the rows go in with ``COPY`` and their change-log entries are numbered and written at once,
    ``batch`` rows at a time, instead of being read back and held until the commit: as fast as
    the database takes them, in flat memory. Missing keys take their column's Python default
    (a scalar or a function without arguments), else NULL. Elsewhere: ``insert()``.
    """
    from sqlalchemy import insert

    from sync.storage.fastpg import copy_rows, is_postgres

    t = getattr(table, "__table__", table)
    state = current_state()
    spec = state.registry.get(t.name) if state is not None else None
    if state is None or state.role != "central" or spec is None or not is_postgres(session):
        for start in range(0, len(rows), 5000):  # the ORM's bulk insert: rows may differ
            session.execute(insert(table), rows[start : start + 5000])  # in their keys
        return
    defaults = []
    for column in t.columns:
        default = column.default
        if default is None or not (default.is_scalar or default.is_callable):
            continue
        arg = default.arg
        defaults.append((column.key, default.is_scalar, arg))
    cache: dict = {}
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        if defaults:
            full = []
            for row in chunk:
                missing = {key: (arg if scalar else arg(None)) for key, scalar, arg in defaults
                           if key not in row}
                full.append({**missing, **row} if missing else row)
            chunk = full
        # What the unit of work holds goes first, logged first: the parents of these rows
        # (catalogue entries...) come before them in every node's pull.
        session.flush()
        _log_pending(state, session)
        copy_rows(session, t, chunk)
        if spec.distribute:
            append_changes(state, session, entries_for_rows(
                state, session, spec.name, [(row["id"], "u", row) for row in chunk], cache))


def _capture_sqlite(state: AppState, session: Session, spec: TableSpec, ids: list[Any],
                    now: str) -> int:
    """:func:`capture_rows` on a field node: the rows read back as SQLite stores them and turned
    straight into wire values (SQLAlchemy's per-value type processing was half the cost of
    saving a 60-family attendance sheet). The operations follow the order of ``ids``."""
    fast = sqlite_table(spec.table)
    columns = fast.columns
    id_at = fast.id_index
    versioned = spec.versioned
    conn = session.connection()
    count = 0
    for start in range(0, len(ids), 500):
        chunk = [i.hex if isinstance(i, uuid.UUID) else uuid.UUID(str(i)).hex
                 for i in ids[start : start + 500]]
        marks = ", ".join("?" * len(chunk))
        raw = conn.exec_driver_sql(f"{fast.select_sql} WHERE id IN ({marks})",  # noqa: S608
                                   tuple(chunk)).fetchall()
        by_id = {row[id_at]: row for row in raw}
        ops = []
        for wire in fast.wire_rows([by_id[h] for h in chunk if h in by_id]):
            data = dict(zip(columns, wire, strict=True))
            op: dict[str, Any] = {"t": spec.name, "i": data.pop("id"), "o": "i", "a": now}
            if versioned:
                op["v"] = data["version"]
            op["d"] = data
            ops.append(op)
        write_outbox(state, session, ops)
        count += len(ops)
    return count


# -- statements run through the session -----------------------------------------------------
def _do_orm_execute(orm_state: Any) -> Any:
    session = orm_state.session
    if session.info.get("applying_remote") or session.info.get("sync_inner"):
        return None
    if not (orm_state.is_insert or orm_state.is_update or orm_state.is_delete):
        return None
    state = current_state()
    table = getattr(orm_state.statement, "table", None)
    spec = state.registry.get(getattr(table, "name", "")) if state is not None else None
    if spec is None:
        return None
    session.info["sync_inner"] = True
    try:
        if orm_state.is_insert:
            return _bulk_insert(orm_state, spec)
        return _bulk_change(orm_state, state, spec)
    finally:
        session.info.pop("sync_inner", None)


def _param_list(orm_state: Any) -> list[dict[str, Any]]:
    params = orm_state.parameters
    if isinstance(params, list):
        return params
    return [params] if params else []


def _bulk_insert(orm_state: Any, spec: TableSpec) -> Any:
    rows = _param_list(orm_state)
    ids = [row.get("id") for row in rows]
    if not rows or any(i is None for i in ids):
        raise RuntimeError(
            f"a bulk insert into the synced table {spec.name} must give every row's id "
            "(so that sync can capture it)")
    result = orm_state.invoke_statement()
    state = current_state()
    columns = spec.codec.column_set
    if state is not None and state.role != "central" and all(r.keys() == columns for r in rows):
        _capture_given(state, orm_state.session, spec, rows)
    else:  # defaults or server-side values to learn: read the rows back
        capture_rows(orm_state.session, spec.name, ids)
    return result


def _capture_given(state: AppState, session: Session, spec: TableSpec,
                   rows: list[dict[str, Any]]) -> None:
    """Capture rows inserted with a value for every column from those values, as the unit of
    work captures its objects (no need to read them back)."""
    now = state.now().isoformat()
    encode = spec.codec.encode_row
    versioned = spec.versioned
    ops = []
    for row in rows:
        op: dict[str, Any] = {"t": spec.name, "i": str(row["id"]), "o": "i", "a": now}
        if versioned:
            op["v"] = row["version"]
        op["d"] = encode(row)
        ops.append(op)
    write_outbox(state, session, ops)


def _bulk_change(orm_state: Any, state: AppState, spec: TableSpec) -> Any:
    """A bulk UPDATE or DELETE: capture each affected row like the unit of work would."""
    session = orm_state.session
    t = spec.table
    statement = orm_state.statement
    rows = _param_list(orm_state)
    if rows and statement.whereclause is None and all("id" in r for r in rows):
        condition = t.c.id.in_([r["id"] for r in rows])  # bulk UPDATE by primary key
    else:
        condition = statement.whereclause if statement.whereclause is not None else true()
    before = {r["id"]: r for r in row_dicts(session.execute(select(t).where(condition)))}
    result = orm_state.invoke_statement()
    if not before:
        return result
    now = state.now()
    if orm_state.is_delete:
        ops = [(delete_row_op(spec, row_id, row, now), row) for row_id, row in before.items()]
    else:
        ops = update_row_ops(session, spec, before, now)
    if state.role == "central":
        if spec.distribute:
            pending = session.info.setdefault("sync_central", {})
            for op, row in ops:
                row_id = uuid.UUID(op["i"])
                pending[(spec.name, row_id)] = ("d" if op["o"] == "d" else "u", row)
                if op["o"] == "u" and is_move(spec, op["d"]):
                    _note_move(session, Move(spec.name, row_id, before[row_id]))
    else:
        write_outbox(state, session, [op for op, _row in ops])
    return result


# -- central's change log -----------------------------------------------------------------
def _note_move(session: Session, move: Move) -> None:
    """A row central changed moves (a column of its scope path changed): at commit, its move
    adds removals for the old place and its history for the new one (:mod:`sync.capture.moves`)."""
    session.info.setdefault("sync_moves", []).append(move)


def _before_commit(session: Session) -> None:
    # before_commit runs before the commit's own flush: flush first so every change is seen.
    if session.info.get("applying_remote"):
        return
    state = current_state()
    if state is None or state.role != "central":
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    _log_pending(state, session)


def _log_pending(state: AppState, session: Session) -> None:
    """Number and log central's changes captured so far in this transaction (parents first)."""
    pending = session.info.pop("sync_central", {})
    if not pending:
        return
    by_table: dict[str, list[tuple[Any, str, dict[str, Any]]]] = {}
    for (name, row_id), (op, values) in pending.items():
        by_table.setdefault(name, []).append((row_id, op, values))
    entries = []
    for name in sorted(by_table, key=lambda n: state.registry.order[n]):
        items = by_table[name]
        entries.extend(entries_for_rows(state, session, name, items))
    entries.extend(move_entries(state, session, session.info.pop("sync_moves", [])))
    append_changes(state, session, entries)


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("sync_txmap", None)
        session.info.pop("sync_central", None)
        session.info.pop("sync_moves", None)
