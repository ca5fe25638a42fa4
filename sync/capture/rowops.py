"""Captured changes as operations: an object a flush changed, or a row a bulk statement changed,
encoded as on the wire: an insert (the whole row), an update (the changed fields and their values
before the change, the *base* of the three-way merge on central) or a delete.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from sync.registry import TableSpec
from sync.state import AppState
from sync.storage.fastsql import row_dicts

#: Fields sent with every update whatever their base (they never conflict).
_NO_BASE = frozenset({"updated_at"})

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


def scope_values(insp: Any, spec: TableSpec) -> dict[str, Any]:
    """The columns the scope path needs, as Python values (for central's change log)."""
    obj = insp.obj()
    return {col: getattr(obj, key) for col, key in _column_keys(insp.mapper, spec)}


def collect_ops(state: AppState, session: Session) -> list[tuple[dict[str, Any], Any, TableSpec]]:
    """The operations of a flush: (operation, instance state, table) for each synced object
    the session inserts, changes or deletes."""
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


def insert_row_op(spec: TableSpec, row: Any, now: str) -> dict[str, Any]:
    """The insert of a stored row (a mapping of every column) as it is now, as
    :func:`_insert_op` makes it for a new object."""
    op: dict[str, Any] = {"t": spec.name, "i": str(row["id"]), "o": "i", "a": now}
    if spec.versioned and row.get("version") is not None:
        op["v"] = row["version"]
    op["d"] = spec.codec.encode_row(row)
    return op


def delete_row_op(spec: TableSpec, row_id: Any, row: dict[str, Any], now: Any) -> dict:
    """The operation of a row a bulk DELETE removed (``row``: its values before)."""
    op: dict[str, Any] = {"t": spec.name, "i": str(row_id), "o": "d", "a": now.isoformat()}
    if spec.versioned:
        op["bv"] = row["version"]
    return op


def update_row_ops(session: Session, spec: TableSpec, before: dict[Any, dict[str, Any]],
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
