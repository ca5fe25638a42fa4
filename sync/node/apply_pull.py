"""The field node applies a pulled page: its rows written in bulk, fields with a local change still
to be pushed kept, rows that cannot be applied quarantined.

Applying a pulled page and saving the cursor after it are the same transaction, so the cursor is
never ahead of the data; a page that a crash interrupts is pulled and applied again (applying is
idempotent: rows are upserted by id).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from sync import errors, gcpause
from sync.errors import db_error_code
from sync.registry import TableSpec
from sync.state import AppState
from sync.storage.codec import fast_uuid
from sync.storage.fastsql import sqlite_table

#: Marker: every field of the row has a local change still to be pushed.
ALL_FIELDS = frozenset({"*"})


def _pending_fields(state: AppState, name: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, set]:
    """Fields of these rows with a local change not yet pushed (kept when applying a pull)."""
    o = state.tables.outbox
    p = state.tables.outbox_payloads
    out: dict[uuid.UUID, set] = {}
    for start in range(0, len(ids), 500):
        for row_id, op_kind, payload in state.session.execute(
            select(o.c.row_id, o.c.op, p.c.payload).join(p, p.c.seq == o.c.seq).where(
                o.c.status == "pending", o.c.table_name == name,
                o.c.row_id.in_(ids[start : start + 500]))
        ):
            fields = out.setdefault(row_id, set())
            if op_kind == "u":
                fields.update(json.loads(payload).get("d", {}))
            else:
                fields.update(ALL_FIELDS)
    return out


def _pulled_id(value: Any) -> uuid.UUID:
    """The id of a pulled row (``ValueError`` when it is not a UUID's text)."""
    if type(value) is not str:
        raise ValueError(f"not a UUID: {value!r}")
    return fast_uuid(value)


def _params_or_none(fast: Any, columns: list[str], values: list[Any]) -> tuple | None:
    """The INSERT parameters of one pulled row, ``None`` when a value does not fit."""
    try:
        return fast.params_from_columns(columns, [values])[0]
    except (ValueError, TypeError):
        return None


class PageApplier:
    """Applies one pulled page to the node's database (the caller commits)."""

    def __init__(self, state: AppState, careful: bool = False) -> None:
        self.state = state
        self.session: Session = state.session
        self.careful = careful
        self.applied = 0
        self.failed = 0
        #: table -> ids of rows the page removes (deleted at the end, children first).
        self.gone: dict[str, list[uuid.UUID]] = {}
        o = state.tables.outbox
        self.has_pending = self.session.execute(
            select(o.c.seq).where(o.c.status == "pending").limit(1)).first() is not None

    def block(self, block: dict[str, Any]) -> None:
        spec = self.state.registry.get(block.get("n"))
        if spec is None:
            return
        fast = sqlite_table(spec.table)
        columns: list[str] = block["k"]
        rows: list[list[Any]] = block["r"]
        if "id" not in columns:
            raise errors.BadResponse(f"rows of {spec.name} without ids")
        id_at = columns.index("id")
        gone_ids = block.get("x", ())
        if self.careful:  # a row or deletion without a valid id is set aside, not applied
            rows = [values for values in rows if self._has_id(spec, columns, values, id_at)]
            gone_ids = [x for x in gone_ids if self._has_id(spec, ["id"], [x], 0)]
        gone = [_pulled_id(x) for x in gone_ids]
        # UUID objects only when something needs them (a first pull needs none).
        ids = [_pulled_id(values[id_at]) for values in rows] if self.has_pending else []
        pending = (_pending_fields(self.state, spec.name, ids + gone)
                   if (ids or gone) and self.has_pending else {})
        if self.careful:
            # Row by row: a row whose values do not fit is quarantined in its own savepoint.
            params: list[tuple | None] = [_params_or_none(fast, columns, values)
                                          for values in rows]
        else:
            params = fast.params_from_columns(columns, rows)  # type: ignore[assignment]
        if spec.natural_key and rows:
            self._make_room(spec, fast, [p for p in params if p is not None])
        if pending:  # rows with a local change still to push: below, field by field
            kept = [n for n, row_id in enumerate(ids) if row_id not in pending]
            params, plain = [params[n] for n in kept], [rows[n] for n in kept]
        else:
            plain = rows
        if plain and self.careful:
            self._write_carefully(spec, fast, columns, params, plain)
        elif plain:
            self._write(fast, params)  # type: ignore[arg-type]
        for row_id, values in zip(ids, rows, strict=True) if pending else ():
            fields = pending.get(row_id)
            if fields is None or fields >= ALL_FIELDS:
                continue
            wire = dict(zip(columns, values, strict=True))
            keep = spec.codec.decode_row({k: v for k, v in wire.items()
                                          if k not in fields and k != "id"})
            self._one(spec, lambda r=row_id, k=keep: self.session.execute(
                update(spec.table).where(spec.table.c.id == r).values(**k)), row_id, wire)
        if gone:  # removed once every block is written (see remove)
            self.gone.setdefault(spec.name, []).extend(gone)
        self.applied += len(rows) + len(gone)

    def remove(self) -> None:
        """Delete the page's removed rows and every row of this node below them, children
        before parents (so that foreign keys hold row by row too).

        A removal is central's deletion or a record that left this node's scope (moved to a
        community the node does not serve: central keeps it). Rows below it that central did
        not list are this node's own, not accepted by central (refused as out of scope, or not
        yet pushed): they go with their parent, and their operations stay in the outbox as
        they were (shown on ``/nodes/sync``; central refuses those still pending as
        ``out_of_scope``). Nothing here is captured: it is no local delete.
        """
        if not self.gone:
            return
        registry = self.state.registry
        doomed: dict[str, dict[Any, None]] = {}
        for name, ids in self.gone.items():
            doomed.setdefault(name, {}).update(dict.fromkeys(ids))
            for child, rows in registry.descendants(self.session, name, ids).items():
                doomed.setdefault(child, {}).update(dict.fromkeys(r["id"] for r in rows))
        for name in sorted(doomed, key=lambda n: registry.order.get(n, 0), reverse=True):
            spec = registry.specs[name]
            ids = list(doomed[name])
            if not self.careful:
                for start in range(0, len(ids), 500):
                    self.session.execute(delete(spec.table).where(
                        spec.table.c.id.in_(ids[start : start + 500])))
                continue
            for row_id in ids:
                self._one(spec, lambda i=row_id, t=spec.table: self.session.execute(
                    delete(t).where(t.c.id == i)), row_id, {"id": str(row_id)})

    def _write(self, fast: Any, params: list[tuple]) -> None:
        """Insert or update these rows, all at once."""
        # A plain INSERT costs SQLite a third of an UPSERT: rows the node does not have yet
        # (all of them in a first pull) are inserted, the others upserted. This transaction
        # already holds the write lock (the cursor row), so nothing can insert one of them in
        # between.
        conn = self.session.connection()
        at = fast.id_index
        have = self._existing(conn, fast, [p[at] for p in params])
        fresh = [p for p in params if p[at] not in have] if have else params
        known = [p for p in params if p[at] in have] if have else []
        if fresh:
            fast.write_many(conn, fresh)
        if known:
            fast.write_many(conn, known, upsert=True)

    def _write_carefully(self, spec: TableSpec, fast: Any, columns: list[str],
                         params: list[tuple | None], rows: list[list[Any]]) -> None:
        """Upsert row by row, each in a savepoint; a row that fails is quarantined."""
        id_at = columns.index("id")
        for one, values in zip(params, rows, strict=True):
            self._one(spec, lambda p=one, v=values: self.session.connection().exec_driver_sql(
                fast.upsert_sql,
                # None: a value does not fit; converting again raises it inside the savepoint.
                p if p is not None else fast.params_from_columns(columns, [v])[0]),
                _pulled_id(values[id_at]), dict(zip(columns, values, strict=True)))

    @staticmethod
    def _existing(conn: Any, fast: Any, hexes: list[str]) -> set[str]:
        """Which of these ids (stored hex) the table holds."""
        have: set[str] = set()
        for start in range(0, len(hexes), 900):
            chunk = tuple(hexes[start : start + 900])
            marks = ",".join("?" * len(chunk))
            have.update(r[0] for r in conn.exec_driver_sql(
                f"SELECT id FROM {fast.quoted_name} WHERE id IN ({marks})", chunk))  # noqa: S608
        return have

    def _make_room(self, spec: TableSpec, fast: Any, params: list[tuple]) -> None:
        """A set's element central knows under another id replaces the local copy.

        Compared in the stored form (what the INSERT parameters hold), not as Python values.
        """
        at = [fast.columns.index(c) for c in spec.natural_key]
        id_at = fast.id_index
        wanted = {tuple(p[i] for i in at): p[id_at] for p in params}
        firsts = list({key[0] for key in wanted})
        names = ", ".join(f'"{c}"' for c in spec.natural_key)
        conn = self.session.connection()
        doomed = []
        for start in range(0, len(firsts), 500):
            chunk = tuple(firsts[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for local_id, *key in conn.exec_driver_sql(
                    f'SELECT id, {names} FROM {fast.quoted_name} '  # noqa: S608 - our names
                    f'WHERE "{spec.natural_key[0]}" IN ({marks})', chunk):
                theirs = wanted.get(tuple(key))
                if theirs is not None and theirs != local_id:
                    doomed.append((local_id,))
        if doomed:
            conn.exec_driver_sql(f"DELETE FROM {fast.quoted_name} WHERE id = ?",  # noqa: S608
                                 doomed)

    def _one(self, spec: TableSpec, action: Any, row_id: Any, wire: dict[str, Any]) -> None:
        if not self.careful:
            action()
            return
        try:
            with self.session.begin_nested():
                action()
        except (IntegrityError, StatementError, DBAPIError, ValueError) as error:
            self._quarantine(spec, row_id, *db_error_code(error), wire)

    def _has_id(self, spec: TableSpec, columns: list[str], values: list[Any], at: int) -> bool:
        """Whether a pulled row's id (``values[at]``) is a UUID; if not, it is quarantined."""
        try:
            _pulled_id(values[at])
        except ValueError:
            wire = dict(zip(columns, values, strict=False))
            self._quarantine(spec, None, "invalid", "The record id is not a UUID.", wire)
            return False
        return True

    def _quarantine(self, spec: TableSpec, row_id: uuid.UUID | None, code: str, message: str,
                    wire: dict[str, Any]) -> None:
        self.failed += 1
        self.session.execute(insert(self.state.tables.quarantine).values(
            direction="pull", table_name=spec.name, row_id=row_id, code=code,
            message=message, payload=json.dumps(wire, ensure_ascii=False, default=str),
            created_at=self.state.now()))


def apply_page(state: AppState, page: dict[str, Any], cursor: int) -> int:
    """Apply a pulled page and save the new cursor in the same transaction.

    Foreign keys are checked at commit (rows of a page come grouped by table); if the page
    does not commit, it is applied again row by row and the rows that cannot be applied are
    quarantined on the node (the rest of the page is not held back).

    :returns: how many rows could not be applied.
    """
    with gcpause.paused():
        try:
            return _apply(state, page, cursor, careful=False)
        except (IntegrityError, StatementError, DBAPIError, ValueError):
            state.session.rollback()
            return _apply(state, page, cursor, careful=True)


def _apply(state: AppState, page: dict[str, Any], cursor: int, careful: bool) -> int:
    session = state.session
    t = state.tables.state
    session.info["applying_remote"] = True
    try:
        moved = session.execute(update(t).where(t.c.key == "cursor", t.c.value == cursor)
                                .values(value=page["c"], text=_mark(page))).rowcount
        if not moved:
            session.rollback()
            raise errors.Busy("The pull cursor moved: another sync is running.")
        if session.get_bind().dialect.name == "sqlite" and not careful:
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
        applier = PageApplier(state, careful=careful)
        for block in page.get("t", ()):
            applier.block(block)
        applier.remove()
        state.fault("pull.before_commit")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop("applying_remote", None)
    state.fault("pull.after_commit")
    return applier.failed


def _mark(page: dict[str, Any]) -> str | None:
    """The mark of the change-log entry the page's cursor stands on (see the handshake)."""
    mark = page.get("f")
    return mark if type(mark) is str and len(mark) <= 64 else None
