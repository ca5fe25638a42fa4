"""Central applies a page of a node's operations: exactly once, in order, by kind of data.

The caller holds the page's transaction. Runs of inserts into one table go in bulk (one
savepoint; a failing batch is split in halves until the bad records are found and quarantined),
everything else one operation at a time in its own savepoint. Each applied operation leaves one
change-log entry carrying the node's sequence number and the digest of the operation's bytes, so
a replay is recognised and a reused number with other content is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from sync.changelog import Change, _place
from sync.codec import fast_uuid, storable
from sync.engine import AppState, NodeInfo
from sync.fastpg import copy_rows, is_postgres
from sync.fastpg import rows_by_id as pg_rows_by_id
from sync.fastsql import is_sqlite, row_dicts, sqlite_table
from sync.registry import MISSING, SYSTEM_COLUMNS, TableSpec

#: A record id as nodes write it (anything else is checked by ``_is_uuid``).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: Timestamps before this are certainly a wrong clock.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)


class Rejected(Exception):  # noqa: N818 - a decision, not a failure of the program
    """An operation central refuses; it is quarantined with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Op:
    """One operation of a push page, and what :meth:`Applier.check` found of it."""

    seq: int
    line: bytes
    digest: str
    body: dict[str, Any]
    checked: bool = False
    spec: TableSpec | None = None
    #: (code, message) when central refuses it for what it is.
    refusal: tuple[str, str] | None = None
    skewed: bool = False
    #: An insert's values as central reasons about them, and (on SQLite) as stored.
    decoded: tuple[dict[str, Any], tuple | None] | None = None

    @property
    def kind(self) -> str:
        return self.body.get("o", "")


@dataclass
class PushOutcome:
    """What central answers for a page."""

    acked: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0
    applied: int = 0
    skewed: int = 0


def db_error_code(error: Exception) -> tuple[str, str]:
    """A stable code and a one-line reason for a database refusal."""
    text = str(getattr(error, "orig", error)).strip().splitlines()[0][:300]
    low = text.lower()
    if "unique" in low or "duplicate key" in low:
        return "duplicate_key", text
    if "foreign key" in low:
        return "missing_parent", text
    return "invalid", text


class Applier:
    """Applies the new operations of one page for one node."""

    def __init__(self, state: AppState, session: Session, node: NodeInfo) -> None:
        self.state = state
        self.session = session
        self.node = node
        self.registry = state.registry
        self.changes: list[Change] = []
        self.outcome_rejected: list[dict[str, Any]] = []
        self.conflicts = 0
        self.applied = 0
        self.skewed = 0
        self.now = state.now()
        self.fast = is_sqlite(session)
        self.postgres = is_postgres(session)
        #: (table, id) -> community of rows looked up during this page.
        self.cache: dict[tuple[str, Any], Any] = {}
        #: places -> refusal (None: in scope), see scope_refusal.
        self.verdicts: dict[tuple, Rejected | None] = {}
        #: places -> the change log's (community, second community).
        self.log_places: dict[tuple, tuple] = {}
        #: Tables this page inserted rows into.
        self.grown: set[str] = set()
        tolerance = timedelta(seconds=float(state.config("SYNC_CLOCK_TOLERANCE")))
        self.latest_plausible = self.now + tolerance

    # -- bookkeeping -------------------------------------------------------------------------
    def reject(self, op: Op, code: str, message: str) -> None:
        body = op.body if isinstance(op.body, dict) else {}
        row_id = _uuid_or_none(body.get("i"))
        message = storable(message)
        self.session.execute(
            insert(self.state.tables.quarantine).values(
                direction="push", node_id=self.node.id, node_seq=op.seq, op_digest=op.digest,
                table_name=storable(body.get("t"), 64) if body.get("t") else None,
                row_id=row_id, code=code, message=message,
                payload=op.line.decode("utf-8", "replace"), created_at=self.now,
            )
        )
        self.outcome_rejected.append({"s": op.seq, "code": code, "message": message})

    def record(self, op: Op, spec: TableSpec, row_id: uuid.UUID, kind: str, places: tuple,
               echo: bool = False) -> None:
        self.changes.append(Change(
            spec.name, row_id, kind if spec.distribute or kind == "n" else "n",
            _place(places[0]), _place(places[1]), self.node.id, op.seq, echo, op.digest,
        ))
        self.applied += 1

    def central_change(self, spec: TableSpec, row_id: uuid.UUID, places: tuple) -> None:
        """A change central itself made while applying (a flag on another record)."""
        self.changes.append(Change(spec.name, row_id, "u", _place(places[0]), _place(places[1])))

    def places(self, spec: TableSpec, row: dict[str, Any]) -> tuple:
        """The communities of one row (parents looked up once per page)."""
        return self.registry.communities_of_rows(self.session, spec.name, [row], self.cache)[0]

    def scope_refusal(self, places: tuple) -> Rejected | None:
        """:meth:`check_scope` for rows in bulk: the refusal for ``places`` (remembered: a page
        has few distinct places), ``None`` when they are in scope."""
        try:
            return self.verdicts[places]
        except KeyError:
            pass
        try:
            self.check_scope(places)
            verdict = None
        except Rejected as refusal:
            verdict = refusal
        self.verdicts[places] = verdict
        return verdict

    def check_scope(self, places: tuple) -> None:
        for place in places:
            if place is MISSING:
                raise Rejected("missing_parent",
                               "It refers to a record central does not have.")
            if place is not None and self.node.scope is not None and place not in self.node.scope:
                raise Rejected("out_of_scope",
                               "It belongs to a community this node does not serve.")

    def _skewed(self, op: Op) -> bool:
        at = op.body.get("a")
        try:
            when = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            when = None
        return when is not None and when.tzinfo is not None and (
            when < EARLIEST_PLAUSIBLE or when > self.latest_plausible)

    # -- the page ----------------------------------------------------------------------------
    def check(self, ops: list[Op]) -> None:
        """Check each operation and convert the values of inserts, without the database.

        The push runs this before it takes the node's lock: a page sent ahead by the node does
        this work while the page before it is applied (in another worker), not after.
        """
        # Our own UTC form sorts as it runs: a stamp of that form between the bounds is
        # plausible without parsing it (anything else is checked by _skewed).
        low = EARLIEST_PLAUSIBLE.isoformat(timespec="microseconds")
        high = self.latest_plausible.astimezone(UTC).isoformat(timespec="microseconds")
        spec_of = self.registry.specs.get
        canonical_id = _CANONICAL_UUID.fullmatch
        converters: dict[str, Any] = {}
        for op in ops:
            op.checked = True
            body = op.body  # a dict: parse_page saw to that
            at = body.get("a")
            if not (type(at) is str and len(at) == 32 and low <= at <= high
                    and at[10] == "T" and at[19] == "." and at.endswith("+00:00")
                    and at[4] == at[7] == "-" and at[13] == at[16] == ":"):
                op.skewed = self._skewed(op)
            # The common shape (an insert or an update of a synced table, its id in canonical
            # form, with values) is recognised here; anything else goes through _spec.
            kind, name, row_id = body.get("o"), body.get("t"), body.get("i")
            spec = spec_of(name) if type(name) is str else None
            if (spec is None or (kind != "i" and kind != "u") or type(row_id) is not str
                    or canonical_id(row_id) is None or type(body.get("d")) is not dict):
                spec, op.refusal = self._spec(op)
                if spec is None:
                    continue
            op.spec = spec
            if kind == "i":
                convert = converters.get(spec.name)
                if convert is None:
                    convert = converters[spec.name] = self._converter(spec)
                try:
                    op.decoded = convert(op)
                except (ValueError, TypeError, ArithmeticError, AttributeError) as error:
                    op.spec, op.refusal = None, ("invalid", f"A value does not fit: {error}")

    def _converter(self, spec: TableSpec) -> Any:
        """A function giving an insert's (key values, stored values or ``None``)."""
        if not self.fast:
            return lambda op: (self._full_row(spec, op), None)
        fast = sqlite_table(spec.table)
        read_keys = fast.key_reader(spec.key_columns)
        params_of = fast.params_from_dict

        def convert(op: Op) -> tuple[dict[str, Any], tuple]:
            params = params_of(op.body["i"], op.body["d"])
            return read_keys(params), params

        return convert

    def run(self, ops: list[Op]) -> None:
        self.check([op for op in ops if not op.checked])
        valid: list[tuple[Op, TableSpec, str]] = []
        for op in ops:
            if op.skewed:
                self.skewed += 1
            if op.refusal is not None:
                self.reject(op, *op.refusal)
            elif op.spec is not None:
                valid.append((op, op.spec, op.body["o"]))
        i = 0
        while i < len(valid):
            op, spec, kind = valid[i]
            if kind == "i":
                j = i + 1
                while j < len(valid) and valid[j][2] == "i" and valid[j][1] is spec:
                    j += 1
                self.insert_run(spec, [o for o, _s, _k in valid[i:j]])
                i = j
            else:
                self.one(spec, op)
                i += 1

    def _spec(self, op: Op) -> tuple[TableSpec | None, tuple[str, str] | None]:
        """The table of an operation of an uncommon shape, or why it is refused."""
        body = op.body
        if not isinstance(body, dict) or body.get("o") not in ("i", "u", "d"):
            return None, ("invalid", "Not a valid operation.")
        spec = self.registry.get(body.get("t")) if isinstance(body.get("t"), str) else None
        if spec is None:
            return None, ("unknown_table", f"Central does not sync {body.get('t')!r}.")
        if not _is_uuid(body.get("i")):
            return None, ("invalid", "The record id is not a UUID.")
        if body["o"] != "d" and not isinstance(body.get("d"), dict):
            return None, ("invalid", "The operation carries no values.")
        return spec, None

    # -- inserts in bulk -----------------------------------------------------------------------
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
        inserted = self._insert_bisect(spec, placed)
        if not inserted:
            return
        self.grown.add(spec.table.name)
        flagged = self._flag_inserted(spec, inserted)
        self.record_inserted(spec, inserted, flagged)

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
                at = log_places[place] = (_place(place[0]), _place(place[1]))
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
        if spec.find_doubles and spec.flag_column:
            for row_id, other_id in spec.find_doubles(self.session, rows):
                index()
                self._set_flag(spec, row_id, other_id, place_of, by_id)
                flagged.add(row_id)
                self.add_conflict("double_delivery", spec, row_id, by_id.get(row_id),
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

    def add_conflict(self, kind: str, spec: TableSpec, row_id: uuid.UUID, op: Op | None,
                     field_name: str | None = None, central_value: Any = None,
                     node_value: Any = None, base_value: Any = None,
                     other_row_id: uuid.UUID | None = None, place: tuple | None = None) -> None:
        """Open a conflict for a coordinator (or refresh the open one on the same field)."""
        c = self.state.tables.conflicts
        community = _place(place[0]) if place else None
        existing = self.session.execute(
            select(c.c.id).where(
                c.c.status == "open", c.c.kind == kind, c.c.table_name == spec.name,
                c.c.row_id == row_id,
                c.c.field == field_name if field_name else c.c.field.is_(None),
                c.c.other_row_id == other_row_id if other_row_id else c.c.other_row_id.is_(None),
            )
        ).scalar_one_or_none()
        values = dict(central_value=central_value, node_value=node_value,
                      node_id=self.node.id, node_seq=op.seq if op else None,
                      updated_at=self.now)
        if existing is not None:
            self.session.execute(update(c).where(c.c.id == existing).values(**values))
        else:
            self.session.execute(insert(c).values(
                kind=kind, table_name=spec.name, row_id=row_id, field=field_name,
                other_row_id=other_row_id, base_value=base_value, community_id=community,
                status="open", created_at=self.now, **values))
        self.conflicts += 1

    # -- one operation -----------------------------------------------------------------------
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
        if spec.kind == "agreement" and spec.frozen_when and current.get(spec.frozen_when):
            raise Rejected("signed_immutable", "A signed agreement is never deleted.")
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
            if self._known_insert(spec, op, row_id, current, new):
                return
        else:
            if current is None:
                raise Rejected("missing_record",
                               "Central does not have this record (was it refused earlier?).")
            new = codec.decode_row(body["d"])
            base = codec.decode_row(body.get("p") or {})
        places = self.places(spec, current)
        self.check_scope(places)
        changed = {k: v for k, v in new.items() if k not in SYSTEM_COLUMNS and k != "updated_at"
                   and current.get(k) != v}
        self._check_kind(spec, current, changed)
        apply: dict[str, Any] = {}
        conflicts: list[tuple[str, Any]] = []
        for col, value in changed.items():
            if col in base and base[col] == current.get(col):
                apply[col] = value
            else:
                conflicts.append((col, value))
        if set(apply) & spec.path_columns:  # the record moves: its new place must be in scope
            self.cache.pop((spec.name, row_id), None)
            places = self.places(spec, {**current, **apply})
            self.check_scope(places)
        clean = (not spec.versioned or body.get("bv") == current.get("version")) and not conflicts
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

    def _check_kind(self, spec: TableSpec, current: dict[str, Any], changed: dict) -> None:
        if spec.kind == "append":
            fixed = set(changed) - spec.mutable
            if fixed:
                raise Rejected("append_only",
                               "Recorded events cannot be changed; record a correction instead "
                               f"({', '.join(sorted(fixed))}).")
        if spec.kind == "agreement" and spec.frozen_when and current.get(spec.frozen_when):
            fixed = set(changed) - spec.mutable - {"voided"}
            if fixed:
                raise Rejected("signed_immutable",
                               "A signed agreement is never edited; make an amendment "
                               f"({', '.join(sorted(fixed))}).")


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and fast_uuid(value) is not None
    except ValueError:
        return False


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def parse_page(lines: list[bytes]) -> list[Op]:
    """The operations of a push body (one JSON object per line), with their digests.

    :raises ValueError: a line is not JSON or the numbers do not increase.
    """
    if any(not line or line[:1].isspace() or line[-1:].isspace() for line in lines):
        lines = [line.strip() for line in lines]
        lines = [line for line in lines if line]
    if not lines:
        return []
    joined = b"[" + b",".join(lines) + b"]"
    try:  # orjson parses a page in a third of the time
        bodies = orjson.loads(joined)
    except orjson.JSONDecodeError:  # what it refuses (NaN, integers past 64 bits) the standard
        bodies = json.loads(joined)  # library reads: such a value is refused per operation
    ops: list[Op] = []
    append = ops.append
    previous = 0
    blake = hashlib.blake2b
    for line, body in zip(lines, bodies, strict=True):
        seq = body.get("s") if type(body) is dict else None
        if type(seq) is not int or seq <= previous:
            raise ValueError("operation numbers must increase")
        previous = seq
        append(Op(seq, line, blake(line, digest_size=16).hexdigest(), body))
    return ops


def earlier_outcomes(state: AppState, session: Session, node_id: uuid.UUID,
                     ops: list[Op]) -> list[dict[str, Any]]:
    """Outcomes for operations already applied (a replay): the same bytes are acknowledged
    again (with their earlier refusal, if any); other bytes under a used number are refused."""
    if not ops:
        return []
    seqs = [op.seq for op in ops]
    ch = state.tables.changes
    q = state.tables.quarantine
    known: dict[int, str | None] = {}
    refused: dict[int, tuple[str, str]] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        for seq, digest in session.execute(
            select(ch.c.node_seq, ch.c.op_digest).where(ch.c.node_id == node_id,
                                                        ch.c.node_seq.in_(chunk))
        ):
            known[seq] = digest
        for seq, digest, code, message in session.execute(
            select(q.c.node_seq, q.c.op_digest, q.c.code, q.c.message).where(
                and_(q.c.direction == "push", q.c.node_id == node_id, q.c.node_seq.in_(chunk),
                     q.c.code != "seq_reused"))
        ):
            known.setdefault(seq, digest)
            refused[seq] = (code, message)
    out = []
    for op in ops:
        digest = known.get(op.seq)
        if digest is not None and digest != op.digest:
            message = (f"Operation number {op.seq} was already used for different data; "
                       "this copy was not applied.")
            session.execute(insert(q).values(
                direction="push", node_id=node_id, node_seq=op.seq, op_digest=op.digest,
                table_name=storable(op.body.get("t"), 64) if isinstance(op.body, dict) else None,
                row_id=_uuid_or_none(op.body.get("i")) if isinstance(op.body, dict) else None,
                code="seq_reused", message=message,
                payload=op.line.decode("utf-8", "replace"), created_at=state.now()))
            out.append({"s": op.seq, "code": "seq_reused", "message": message})
        elif op.seq in refused:
            code, message = refused[op.seq]
            out.append({"s": op.seq, "code": code, "message": message})
    return out
