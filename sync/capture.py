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
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session

from sync.engine import AppState, current_state
from sync.fastsql import is_sqlite, row_dicts, sqlite_table
from sync.registry import TableSpec

_installed = False
_tracked: set[Any] = set()

#: Fields sent with every update whatever their base (they never conflict).
_NO_BASE = frozenset({"updated_at"})


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


def dumps(value: Any) -> str:
    """Compact JSON as sent on the wire (UTF-8, no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- collecting operations from a flush -------------------------------------------------------
_columns_cache: dict[Any, list[tuple[str, str]]] = {}


def _column_keys(mapper: Any, spec: TableSpec) -> list[tuple[str, str]]:
    """(column name, attribute key) for every column of the spec's table."""
    keys = _columns_cache.get(mapper)
    if keys is None:
        keys = []
        for column in spec.table.columns:
            prop = mapper.get_property_by_column(mapper.local_table.c[column.key])
            keys.append((column.key, prop.key))
        _columns_cache[mapper] = keys
    return keys


def _spec_of(state: AppState, obj: Any) -> tuple[Any, TableSpec] | tuple[None, None]:
    insp = inspect(obj)
    spec = state.registry.get(insp.mapper.local_table.name)
    return (insp, spec) if spec is not None else (None, None)


def _insert_op(state: AppState, insp: Any, spec: TableSpec, now: str) -> dict[str, Any]:
    obj = insp.obj()
    data = {}
    codec = spec.codec
    version = None
    for col, key in _column_keys(insp.mapper, spec):
        value = getattr(obj, key)
        if col == "id":
            continue
        if col == "version":
            version = value
        data[col] = codec.encode_value(col, value)
    op: dict[str, Any] = {"t": spec.name, "i": str(obj.id), "o": "i", "a": now}
    if version is not None:
        op["v"] = version
    op["d"] = data
    return op


def _update_op(state: AppState, insp: Any, spec: TableSpec, now: str) -> dict[str, Any] | None:
    obj = insp.obj()
    codec = spec.codec
    changed: dict[str, Any] = {}
    base: dict[str, Any] = {}
    base_version = None
    version = None
    for col, key in _column_keys(insp.mapper, spec):
        hist = insp.attrs[key].history
        if col == "version":
            version = getattr(obj, key)
            base_version = hist.deleted[0] if hist.deleted else version
            continue
        if not hist.added or col == "id":
            continue
        new = hist.added[0]
        if hist.deleted:
            old = hist.deleted[0]
            if old == new:
                continue
            if col not in _NO_BASE:
                base[col] = codec.encode_value(col, old)
        changed[col] = codec.encode_value(col, new)
    if not set(changed) - _NO_BASE:
        return None
    op: dict[str, Any] = {"t": spec.name, "i": str(obj.id), "o": "u", "a": now}
    if version is not None:
        op["v"] = version
        op["bv"] = base_version
    op["d"] = changed
    op["p"] = base
    return op


def _delete_op(state: AppState, insp: Any, spec: TableSpec, now: str) -> dict[str, Any]:
    obj = insp.obj()
    op: dict[str, Any] = {"t": spec.name, "i": str(obj.id), "o": "d", "a": now}
    if spec.versioned:
        op["bv"] = insp.attrs["version"].value if "version" in insp.attrs else None
    return op


def _scope_values(insp: Any, spec: TableSpec) -> dict[str, Any]:
    """The columns the scope path needs, as Python values (for central's change log)."""
    obj = insp.obj()
    return {col: getattr(obj, key) for col, key in _column_keys(insp.mapper, spec)}


def _collect(state: AppState, session: Session) -> list[tuple[dict[str, Any], Any, TableSpec]]:
    now = state.now().isoformat()
    ops: list[tuple[dict[str, Any], Any, TableSpec]] = []
    for obj in session.new:
        insp, spec = _spec_of(state, obj)
        if spec is not None:
            ops.append((_insert_op(state, insp, spec, now), insp, spec))
    for obj in session.dirty:
        insp, spec = _spec_of(state, obj)
        if spec is not None and not insp.deleted:
            op = _update_op(state, insp, spec, now)
            if op is not None:
                ops.append((op, insp, spec))
    for obj in session.deleted:
        insp, spec = _spec_of(state, obj)
        if spec is not None:
            ops.append((_delete_op(state, insp, spec, now), insp, spec))
    return ops


def _after_flush(session: Session, flush_context: Any) -> None:
    if session.info.get("applying_remote"):
        return
    state = current_state()
    if state is None:
        return
    ops = _collect(state, session)
    if not ops:
        return
    state.fault("capture.outbox_write")
    if state.role == "central":
        pending = session.info.setdefault("sync_central", {})
        for op, insp, spec in ops:
            if not spec.distribute:
                continue
            pending[(spec.name, uuid.UUID(op["i"]))] = (
                "d" if op["o"] == "d" else "u", _scope_values(insp, spec)
            )
    else:
        write_outbox(state, session, [op for op, _i, _s in ops])


# -- the field node's outbox --------------------------------------------------------------
def _merge_ops(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """Fold a later operation on the same row (same transaction) into the earlier one."""
    if old["o"] == "d":
        return None
    if new["o"] == "d":
        merged = dict(new)
        if old["o"] == "u" and "bv" in old:
            merged["bv"] = old["bv"]
        return merged
    if new["o"] == "i":
        return None
    merged = dict(old)
    merged["a"] = new["a"]
    if "v" in new:
        merged["v"] = new["v"]
    merged["d"] = {**old["d"], **new["d"]}
    if old["o"] == "u":
        base = {k: v for k, v in new.get("p", {}).items() if k not in old["d"]}
        base.update(old.get("p", {}))
        merged["p"] = base
    return merged


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


def write_outbox(state: AppState, session: Session, ops: list[dict[str, Any]]) -> None:
    """Add ``ops`` to the outbox (folding into this transaction's earlier entries)."""
    outbox = state.tables.outbox
    payloads = state.tables.outbox_payloads
    txmap: dict[tuple[str, str], int] = session.info.setdefault("sync_txmap", {})
    fresh: list[dict[str, Any]] = []
    for op in ops:
        key = (op["t"], op["i"])
        seq = txmap.get(key)
        if seq is not None:
            row = session.execute(
                select(payloads.c.payload).join(outbox, outbox.c.seq == payloads.c.seq).where(
                    outbox.c.seq == seq,
                    outbox.c.table_name == op["t"],
                    outbox.c.row_id == uuid.UUID(op["i"]),
                    outbox.c.status == "pending",
                )
            ).first()
            if row is not None:
                merged = _merge_ops(json.loads(row.payload), op)
                if merged is not None:
                    session.execute(update(outbox).where(outbox.c.seq == seq)
                                    .values(op=merged["o"]))
                    session.execute(update(payloads).where(payloads.c.seq == seq)
                                    .values(payload=dumps(merged)))
                    continue
        fresh.append(op)
    if not fresh:
        return
    first = allocate_seqs(state, session, "node_seq", len(fresh))
    now = state.now()
    seqs = range(first, first + len(fresh))
    for seq, op in zip(seqs, fresh, strict=True):
        txmap[(op["t"], op["i"])] = seq
    if is_sqlite(session):  # every field node: straight to SQLite's stored form
        fast = sqlite_table(outbox)
        at = now.isoformat()
        connection = session.connection()
        connection.exec_driver_sql(fast.insert_sql, [fast.params_from_dict("", {
            "seq": seq, "table_name": op["t"], "row_id": op["i"], "op": op["o"],
            "captured_at": at, "status": "pending"}) for seq, op in zip(seqs, fresh, strict=True)])
        connection.exec_driver_sql(sqlite_table(payloads).insert_sql, [
            (seq, dumps(op)) for seq, op in zip(seqs, fresh, strict=True)])
        return
    session.execute(insert(outbox), [
        {"seq": seq, "table_name": op["t"], "row_id": uuid.UUID(op["i"]), "op": op["o"],
         "captured_at": now, "status": "pending"} for seq, op in zip(seqs, fresh, strict=True)])
    session.execute(insert(payloads), [
        {"seq": seq, "payload": dumps(op)} for seq, op in zip(seqs, fresh, strict=True)])


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
    from sqlalchemy import true

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
        ops = [(_delete_row_op(spec, row_id, row, now), row) for row_id, row in before.items()]
    else:
        ops = _update_row_ops(session, spec, before, now)
    if state.role == "central":
        if spec.distribute:
            pending = session.info.setdefault("sync_central", {})
            for op, row in ops:
                pending[(spec.name, uuid.UUID(op["i"]))] = ("d" if op["o"] == "d" else "u", row)
    else:
        write_outbox(state, session, [op for op, _row in ops])
    return result


def _delete_row_op(spec: TableSpec, row_id: Any, row: dict[str, Any], now: Any) -> dict:
    op: dict[str, Any] = {"t": spec.name, "i": str(row_id), "o": "d", "a": now.isoformat()}
    if spec.versioned:
        op["bv"] = row["version"]
    return op


def _update_row_ops(session: Session, spec: TableSpec, before: dict[Any, dict[str, Any]],
                    now: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Operations for rows a bulk UPDATE changed (their version bumped, as a flush would)."""
    t = spec.table
    ids = list(before)
    if spec.versioned:
        session.execute(update(t).where(t.c.id.in_(ids))
                        .values(version=t.c.version + 1, updated_at=now))
    after = {r["id"]: r for r in row_dicts(session.execute(select(t).where(t.c.id.in_(ids))))}
    codec = spec.codec
    ops = []
    for row_id, old in before.items():
        new = after.get(row_id)
        if new is None:
            continue
        changed = {c: codec.encode_value(c, new[c]) for c in codec.data_columns
                   if c != "version" and new[c] != old[c]}
        if not set(changed) - _NO_BASE:
            continue
        op: dict[str, Any] = {"t": spec.name, "i": str(row_id), "o": "u", "a": now.isoformat()}
        if spec.versioned:
            op["v"], op["bv"] = new["version"], old["version"]
        op["d"] = changed
        op["p"] = {c: codec.encode_value(c, old[c]) for c in changed if c not in _NO_BASE}
        ops.append((op, new))
    return ops


# -- central's change log -----------------------------------------------------------------
def _before_commit(session: Session) -> None:
    # before_commit runs before the commit's own flush: flush first so every change is seen.
    if session.info.get("applying_remote"):
        return
    state = current_state()
    if state is None or state.role != "central":
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending = session.info.pop("sync_central", {})
    if not pending:
        return
    from sync.changelog import append_changes, entries_for_rows

    by_table: dict[str, list[tuple[Any, str, dict[str, Any]]]] = {}
    for (name, row_id), (op, values) in pending.items():
        by_table.setdefault(name, []).append((row_id, op, values))
    entries = []
    for name in sorted(by_table, key=lambda n: state.registry.order[n]):
        items = by_table[name]
        entries.extend(entries_for_rows(state, session, name, items))
    append_changes(state, session, entries)


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("sync_txmap", None)
        session.info.pop("sync_central", None)
