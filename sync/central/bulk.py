"""Central's runs of inserts into one table, applied in bulk (mixed into ``Applier``).

A run goes in one savepoint; a failing batch is split in halves until the bad records are found
and quarantined. Records central already has are merged one by one instead, elements of a set it
already holds (by natural key) join it, and competing versions and suspected doubles are flagged.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from sync.capture.changelog import Change, log_place
from sync.central.page import Op, Rejected
from sync.errors import db_error_code
from sync.registry import SYSTEM_COLUMNS, TableSpec
from sync.storage.codec import fast_uuid
from sync.storage.fastpg import copy_rows
from sync.storage.fastpg import rows_by_id as pg_rows_by_id
from sync.storage.fastsql import row_dicts, sqlite_table


class BulkInserts:
    """The bulk half of :class:`sync.central.apply.Applier` (its state and bookkeeping are the
    Applier's)."""

    def _full_row(self, spec: TableSpec, op: Op) -> dict[str, Any]:
        """An insert's values as Python values, every column present (defaults filled in)."""
        data = op.body["d"]
        if "id" in data:
            data = {k: v for k, v in data.items() if k != "id"}
        row = {**spec.codec.defaults, **spec.codec.decode_row(data)}
        row["id"] = fast_uuid(op.body["i"])
        return row

    def insert_run(self, spec: TableSpec, ops: list[Op]) -> None:
        """A run of checked inserts into one table (see :meth:`check`), in bulk."""
        rows = [(op, *op.decoded) for op in ops]  # type: ignore[misc]
        ids = [row["id"] for _op, row, _p in rows]
        existing = self._existing(spec, rows, ids)
        # On SQLite rows are told apart by their stored hex (str hashes are cached; a UUID's
        # hash is computed in Python each time), elsewhere by their UUID.
        at = sqlite_table(spec.table).id_index if self.fast else -1
        seen: set[Any] = set()
        fresh: list[tuple[Op, dict[str, Any], tuple | None]] = []
        for item in rows:
            op, row, params = item
            key = params[at] if params is not None else row["id"]
            if key in existing or key in seen:
                self.one(spec, op)  # a record central already has: merged field by field
            else:
                seen.add(key)
                fresh.append(item)
        if spec.natural_key and fresh:
            fresh = self._join_set_members(spec, fresh)
        if not fresh:
            return
        places = self.registry.communities_of_rows(self.session, spec.name,
                                                   [row for _op, row, _p in fresh], self.cache)
        placed = []
        refusal_of = self.scope_refusal
        for (op, row, params), place in zip(fresh, places, strict=True):
            refusal = refusal_of(place)
            if refusal is not None:
                self.reject(op, refusal.code, refusal.message)
            else:
                placed.append((op, row, params, place))
        placed = self._refuse_by_rules(spec, placed)
        inserted = self._insert_bisect(spec, placed)
        if not inserted:
            return
        self.grown.add(spec.table.name)
        flagged = self._flag_inserted(spec, inserted)
        self.record_inserted(spec, inserted, flagged)
        if spec.rules is not None:  # the app's own changes to what just arrived
            for row_id in spec.rules.after_inserts(self.session, self.node,
                                                   [row for _op, row, _p, _pl in inserted]):
                current = self._current(spec, row_id) or {"id": row_id}
                self.central_change(spec, row_id, self.registry.communities_of_rows(
                    self.session, spec.name, [current], {})[0])

    def _refuse_by_rules(self, spec: TableSpec, placed: list[tuple[Op, dict, Any, tuple]]
                         ) -> list[tuple[Op, dict, Any, tuple]]:
        """New records that pass the origin check and the app's rules (the rest quarantined):
        a new record names the pushing node as its maker, and the app checks the run in one
        pass (``TableSpec.rules``)."""
        if not placed or (spec.origin_column is None and spec.rules is None):
            return placed
        refusals: dict[int, Any] = {}
        if spec.rules is not None:
            refusals = spec.rules.check_inserts(self.session, self.node,
                                                [row for _op, row, _p, _pl in placed])
        origin = spec.origin_column
        keep = []
        for n, item in enumerate(placed):
            refusal = refusals.get(n)
            if refusal is None and origin is not None and not self.is_own(item[1].get(origin)):
                refusal = Rejected("forged_origin",
                                   f"A new record must name the node that sends it ({origin}).")
            if refusal is None:
                keep.append(item)
            else:
                self.reject(item[0], refusal.code, refusal.message)
        return keep

    def is_own(self, origin: Any) -> bool:
        """Whether ``origin`` (a record's maker as the node wrote it) is the pushing node."""
        if type(origin) is not str:
            return False
        known = self.origins.get(origin)
        if known is None:
            try:
                known = fast_uuid(origin) == self.node.id
            except ValueError:
                known = False
            self.origins[origin] = known
        return known

    def record_inserted(self, spec: TableSpec, inserted: list[tuple[Op, dict, Any, tuple]],
                        flagged: set[uuid.UUID]) -> None:
        """:meth:`record` for a run of inserted rows (the same entries, made in bulk)."""
        name, node_id = spec.name, self.node.id
        kind = "u" if spec.distribute else "n"
        log_places = self.log_places
        at_hex = sqlite_table(spec.table).id_index if self.fast else None
        entries = []
        for op, row, params, place in inserted:
            at = log_places.get(place)
            if at is None:
                at = log_places[place] = (log_place(place[0]), log_place(place[1]))
            row_id = row["id"]
            entries.append(Change(name, row_id, kind, at[0], at[1], node_id, op.seq,
                                  bool(flagged) and row_id in flagged, op.digest,
                                  params[at_hex] if at_hex is not None else None))
        self.changes.extend(entries)
        self.applied += len(entries)

    def _existing(self, spec: TableSpec, rows: list[tuple[Op, dict[str, Any], tuple | None]],
                  ids: list[uuid.UUID]) -> set[Any]:
        """The ids of these rows central already has (on SQLite as stored: 32 hex digits)."""
        t = spec.table
        existing: set[Any] = set()
        if self.fast:  # the ids as stored, without SQLAlchemy's per-value processing
            fast = sqlite_table(t)
            conn = self.session.connection()
            hexes = [params[fast.id_index] for _op, _row, params in rows]  # type: ignore[index]
            for start in range(0, len(hexes), 900):
                chunk = tuple(hexes[start : start + 900])
                marks = ",".join("?" * len(chunk))
                existing.update(h for (h,) in conn.exec_driver_sql(
                    f"SELECT id FROM {fast.quoted_name} WHERE id IN ({marks})",  # noqa: S608
                    chunk))
            return existing
        if self.postgres:
            return {row_id for (row_id,) in pg_rows_by_id(self.session, t, ("id",), ids)}
        for start in range(0, len(ids), 500):
            existing.update(self.session.execute(
                select(t.c.id).where(t.c.id.in_(ids[start : start + 500]))).scalars())
        return existing

    def _insert_bisect(self, spec: TableSpec, items: list[tuple[Op, dict, Any, tuple]]
                       ) -> list[tuple[Op, dict, Any, tuple]]:
        if not items:
            return []
        try:
            with self.session.begin_nested():
                if self.fast:
                    sqlite_table(spec.table).write_many(self.session.connection(),
                                                        [p for _o, _r, p, _pl in items])
                elif self.postgres and len(items) > 1:
                    copy_rows(self.session, spec.table, [row for _o, row, _p, _pl in items])
                else:
                    self.session.execute(insert(spec.table), [row for _o, row, _p, _pl in items])
            return items
        # The driver's own refusals of a value (text that is not Unicode, an integer past 64
        # bits) come as Python's errors, not the database's.
        except (IntegrityError, StatementError, DBAPIError, UnicodeEncodeError,
                OverflowError) as error:
            if len(items) == 1:
                code, message = db_error_code(error)
                self.reject(items[0][0], code, message)
                return []
        mid = len(items) // 2
        return self._insert_bisect(spec, items[:mid]) + self._insert_bisect(spec, items[mid:])

    def _join_set_members(self, spec: TableSpec, fresh: list[tuple[Op, dict, Any]]
                          ) -> list[tuple[Op, dict, Any]]:
        """Inserts whose natural key central already has join that element instead."""
        t = spec.table
        key_cols = spec.natural_key
        first = key_cols[0]
        values = list({row[first] for _op, row, _p in fresh})
        known: dict[tuple, dict[str, Any]] = {}
        for start in range(0, len(values), 500):
            for m in row_dicts(self.session.execute(
                select(t).where(t.c[first].in_(values[start : start + 500]))
            )):
                known[tuple(m[c] for c in key_cols)] = m
        keep = []
        for item in fresh:
            op, row, _params = item
            key = tuple(row[c] for c in key_cols)
            other = known.get(key)
            if other is None:
                known[key] = row
                keep.append(item)
            else:
                self._join(spec, op, self._full_row(spec, op), other)
        return keep

    def _join(self, spec: TableSpec, op: Op, row: dict[str, Any], other: dict[str, Any]) -> None:
        """Record that ``row`` is ``other`` under another id (an element of a set)."""
        aliases = self.state.tables.aliases
        self.session.execute(insert(aliases).values(
            table_name=spec.name, alias_id=row["id"], canonical_id=other["id"]))
        places = self.places(spec, other)
        try:
            self.check_scope(places)
        except Rejected as refusal:
            self.reject(op, refusal.code, refusal.message)
            return
        changes: dict[str, Any] = {}
        if other.get("voided") and not row.get("voided"):
            changes["voided"] = False  # present on either side: present (add wins)
        for col, value in row.items():
            if col not in SYSTEM_COLUMNS and other.get(col) is None and value is not None:
                changes[col] = value
        changes.pop("updated_at", None)
        if changes and other.get("version") is not None:
            changes["version"] = other["version"] + 1
            changes["updated_at"] = self.now
            self.session.execute(
                update(spec.table).where(spec.table.c.id == other["id"]).values(**changes))
            other.update(changes)
        self.record(op, spec, other["id"], "u", places, echo=True)

    def _flag_inserted(self, spec: TableSpec, inserted: list[tuple[Op, dict, Any, tuple]]
                       ) -> set[uuid.UUID]:
        """Flag competing versions and suspected doubles; both records are kept."""
        flagged: set[uuid.UUID] = set()
        rows = [row for _op, row, _p, _pl in inserted]
        place_of: dict[uuid.UUID, tuple] = {}
        by_id: dict[uuid.UUID, Op] = {}

        def index() -> None:  # only when something is flagged (rarely)
            if not by_id:
                for op, row, _p, place in inserted:
                    place_of[row["id"]] = place
                    by_id[row["id"]] = op

        if spec.kind == "agreement" and spec.supersedes and spec.flag_column:
            col = spec.supersedes
            bases = {row[col] for row in rows if row.get(col) is not None}
            live_of = self._live_versions(spec, bases)
            for base in bases:
                live = live_of.get(base, [])
                if len(live) < 2:
                    continue
                index()
                for row_id in live:
                    self._set_flag(spec, row_id, "competing_version", place_of, by_id)
                    flagged.add(row_id)
                for row_id in live:
                    if row_id in by_id:
                        other = next(x for x in live if x != row_id)
                        self.add_conflict("amendment", spec, row_id, by_id[row_id],
                                          other_row_id=other, place=place_of.get(row_id))
        if spec.find_doubles:
            doubles = spec.find_doubles(self.session, rows)
            if doubles:
                index()
                flagged |= self._flag_doubles(spec, doubles, place_of, by_id)
        return flagged

    def _flag_doubles(self, spec: TableSpec, doubles: list[tuple[Any, Any]], place_of: dict,
                      by_id: dict) -> set[uuid.UUID]:
        """A conflict for each (new record, the one it may double); the flag column too, if
        the table has one (then the new record goes back to the nodes, flagged)."""
        flagged = set()
        for row_id, other_id in doubles:
            if spec.flag_column:
                self._set_flag(spec, row_id, other_id, place_of, by_id)
                flagged.add(row_id)
            self.add_conflict(spec.doubles_kind, spec, row_id, by_id.get(row_id),
                              other_row_id=other_id, place=place_of.get(row_id))
        return flagged

    def _live_versions(self, spec: TableSpec, bases: set[Any]) -> dict[Any, list[uuid.UUID]]:
        """The live (not voided) versions superseding each of ``bases``, oldest first (one
        query for a run, not one per base)."""
        t = spec.table
        col = t.c[spec.supersedes]
        live_of: dict[Any, list[uuid.UUID]] = {}
        listed = list(bases)
        for start in range(0, len(listed), 500):
            for base, row_id in self.session.execute(
                select(col, t.c.id).where(col.in_(listed[start : start + 500]),
                                          t.c.voided.is_(False)).order_by(t.c.created_at, t.c.id)
            ):
                live_of.setdefault(base, []).append(row_id)
        return live_of

    def _set_flag(self, spec: TableSpec, row_id: uuid.UUID, value: Any,
                  place_of: dict, by_id: dict) -> None:
        t = spec.table
        values: dict[str, Any] = {spec.flag_column: value}
        if spec.versioned:
            values["version"] = t.c.version + 1
        self.session.execute(update(t).where(t.c.id == row_id).values(**values))
        if row_id not in by_id:  # an earlier record: every node in scope gets the flag
            place = self.registry.communities_of_rows(
                self.session, spec.name, [self._current(spec, row_id) or {"id": row_id}], {})[0]
            self.central_change(spec, row_id, place)
