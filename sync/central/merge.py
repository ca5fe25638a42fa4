"""Central applies one operation at a time, merged by kind of data (mixed into ``Applier``).

Updates merge field by field against the version the node started from (the same field changed
on both sides opens a conflict); appended events refuse edits, and the app's rules of the table
(``TableSpec.rules``: signed agreements, catalogues...) see every change a node asks for; deletes
and inserts of records central already has are settled here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from sync.capture.moves import Move, is_move, move_entries
from sync.central.page import Op, Rejected
from sync.errors import db_error_code
from sync.registry import SYSTEM_COLUMNS, TableSpec


class OneOperation:
    """The one-operation half of :class:`sync.central.apply.Applier` (its state and bookkeeping are
    the Applier's)."""

    def _current(self, spec: TableSpec, row_id: uuid.UUID) -> dict[str, Any] | None:
        stmt = select(spec.table).where(spec.table.c.id == row_id)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.session.execute(stmt).first()
        return dict(row._mapping) if row is not None else None

    def _canonical(self, spec: TableSpec, row_id: uuid.UUID) -> uuid.UUID:
        if not spec.natural_key:
            return row_id
        a = self.state.tables.aliases
        canonical = self.session.execute(
            select(a.c.canonical_id).where(a.c.table_name == spec.name, a.c.alias_id == row_id)
        ).scalar_one_or_none()
        return canonical or row_id

    def one(self, spec: TableSpec, op: Op) -> None:
        try:
            with self.session.begin_nested():
                if op.kind == "d":
                    self._delete(spec, op)
                else:
                    self._update(spec, op)
        except Rejected as refusal:
            self.reject(op, refusal.code, refusal.message)
        except (ValueError, TypeError, ArithmeticError) as error:
            self.reject(op, "invalid", f"A value does not fit: {error}")
        except (IntegrityError, StatementError, DBAPIError) as error:
            code, message = db_error_code(error)
            self.reject(op, code, message)

    def _delete(self, spec: TableSpec, op: Op) -> None:
        row_id = self._canonical(spec, uuid.UUID(op.body["i"]))
        current = self._current(spec, row_id)
        if current is None:
            self.record(op, spec, row_id, "n", (None, None))
            return
        if spec.kind == "append":
            raise Rejected("append_only", "Events are never deleted; record a correction.")
        if spec.rules is not None:
            spec.rules.check_delete(self.session, self.node, current)
        places = self.places(spec, current)
        self.check_scope(places)
        self.session.execute(delete(spec.table).where(spec.table.c.id == row_id))
        self.record(op, spec, row_id, "d", places)

    def _update(self, spec: TableSpec, op: Op) -> None:
        body = op.body
        codec = spec.codec
        row_id = self._canonical(spec, uuid.UUID(body["i"]))
        current = self._current(spec, row_id)
        if body["o"] == "i":
            if current is None:  # a second insert of the same id within the page
                raise Rejected("duplicate_key", "This record was sent twice.")
            new = codec.decode_row({k: v for k, v in body["d"].items() if k != "id"})
            base: dict[str, Any] = {}
            replaced = None
            if self._known_insert(spec, op, row_id, current, new):
                return
        else:
            if current is None:
                raise Rejected("missing_record",
                               "Central does not have this record (was it refused earlier?).")
            new = codec.decode_row(body["d"])
            base = codec.decode_row(body.get("p") or {})
            row_id, current, replaced = self._redirected(spec, row_id, current)
        places = self.places(spec, current)
        self.check_scope(places)
        changed = {k: v for k, v in new.items() if k not in SYSTEM_COLUMNS and k != "updated_at"
                   and current.get(k) != v}
        self._check_kind(spec, changed)
        if spec.rules is not None and changed:  # the app's rules see all the node asks for
            spec.rules.check_update(self.session, self.node, current, changed)
        apply, conflicts = _three_way(changed, base, current)
        moved = is_move(spec, apply)
        if moved:  # the record moves: its new place must be in scope
            self.cache.clear()  # it, and the places of every row below it
            places = self.places(spec, {**current, **apply})
            self.check_scope(places)
        clean = (not spec.versioned or body.get("bv") == current.get("version")) and not conflicts
        clean = clean and replaced is None  # redirected: the node gets the row it changed
        if apply:
            self._write(spec, row_id, current, apply, new, body.get("v") if clean else None)
        for col, value in conflicts:
            self.add_conflict(
                "field", spec, row_id, op, field_name=col,
                central_value=codec.encode_value(col, current.get(col)),
                node_value=codec.encode_value(col, value),
                base_value=codec.encode_value(col, base.get(col)) if col in base else None,
                place=places,
            )
        if not apply and not conflicts and clean:
            self.record(op, spec, row_id, "n", places)
            return
        self.record(op, spec, row_id, "u", places, echo=not clean)
        self._follow_up(spec, row_id, {**current, **apply}, apply, replaced)
        if moved:  # nodes of the old place only get removals, of the new one its history
            self.changes.extend(move_entries(self.state, self.session,
                                             [Move(spec.name, row_id, current)], self.node.id))

    def _follow_up(self, spec: TableSpec, row_id: uuid.UUID, row: dict[str, Any],
                   apply: dict[str, Any], replaced: tuple | None) -> None:
        """Central's own changes after an applied update, each logged as central's: the row a
        redirected update replaced, again as central holds it; the app's change to the row
        just updated (``TableRules.after_update``)."""
        if replaced is not None:
            self.central_change(spec, *replaced)
        if apply and spec.rules is not None and spec.rules.after_update(
                self.session, self.node, {**row, "id": row_id}, apply):
            now = self._current(spec, row_id) or {"id": row_id}
            self.central_change(spec, row_id, self.places(spec, now))

    def _redirected(self, spec: TableSpec, row_id: uuid.UUID, current: dict[str, Any]
                    ) -> tuple[uuid.UUID, dict[str, Any], tuple | None]:
        """The row an update of ``row_id`` applies to (``TableRules.redirect``: a merged
        family's survivor; otherwise this one), that row, and the replaced row's id and places
        when redirected (logged again as central holds it, so a node that changed it locally
        gets it back)."""
        if spec.rules is None:
            return row_id, current, None
        target = spec.rules.redirect(self.session, current)
        if target is None or target == row_id:
            return row_id, current, None
        other = self._current(spec, target)
        if other is None:
            raise Rejected("missing_record", "Central does not have the record this one was "
                           "replaced by.")
        return target, other, (row_id, self.places(spec, current))

    def _write(self, spec: TableSpec, row_id: uuid.UUID, current: dict[str, Any],
               apply: dict[str, Any], new: dict[str, Any], node_version: Any) -> None:
        """Write merged fields. The node's version is kept when nothing else changed the
        record in between (``node_version`` given); otherwise central makes a new version."""
        if spec.versioned:
            if isinstance(node_version, int) and node_version > current["version"]:
                apply["version"] = node_version
            else:
                apply["version"] = current["version"] + 1
        if "updated_at" in new and "updated_at" in spec.table.c:
            apply["updated_at"] = new["updated_at"]
        self.session.execute(update(spec.table).where(spec.table.c.id == row_id).values(**apply))

    def _known_insert(self, spec: TableSpec, op: Op, row_id: uuid.UUID,
                      current: dict[str, Any], new: dict[str, Any]) -> bool:
        """An insert of a record central has: the same, or older than central's (then the
        node receives central's). Returns whether that settled it."""
        body = op.body
        stale = spec.versioned and isinstance(body.get("v"), int) and (
            body["v"] <= (current.get("version") or 0))
        same = all(current.get(k) == v for k, v in new.items()
                   if k not in SYSTEM_COLUMNS and k != "updated_at")
        if not (stale or same):
            return False
        places = self.places(spec, current)
        self.check_scope(places)
        self.record(op, spec, row_id, "u" if stale else "n", places, echo=stale)
        return True

    def _check_kind(self, spec: TableSpec, changed: dict) -> None:
        if spec.kind == "append":
            fixed = set(changed) - spec.mutable
            if fixed:
                raise Rejected("append_only",
                               "Recorded events cannot be changed; record a correction instead "
                               f"({', '.join(sorted(fixed))}).")


def _three_way(changed: dict[str, Any], base: dict[str, Any], current: dict[str, Any]
               ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The node's changed fields split in two: those central still holds at the node's base
    (applied) and those central changed too (conflicts for a coordinator)."""
    apply: dict[str, Any] = {}
    conflicts: list[tuple[str, Any]] = []
    for col, value in changed.items():
        if col in base and base[col] == current.get(col):
            apply[col] = value
        else:
            conflicts.append((col, value))
    return apply, conflicts
