"""Central applies a page of a node's operations: exactly once, in order, by kind of data.

The caller holds the page's transaction. Each operation is checked before the node's lock is
taken; then runs of inserts into one table go in bulk (``sync.central.bulk``: one savepoint, a
failing batch split in halves until the bad records are found and quarantined), everything
else one operation at a time in its own savepoint (``sync.central.merge``). Each applied
operation leaves one change-log entry carrying the node's sequence number and the digest of the
operation's bytes, so a replay is recognised and a reused number with other content is refused
(``sync.central.page``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sync.capture.changelog import Change, log_place
from sync.central.bulk import BulkInserts
from sync.central.merge import OneOperation
from sync.central.page import Op, Rejected, is_uuid, uuid_or_none
from sync.registry import MISSING, TableSpec
from sync.state import AppState, NodeInfo
from sync.storage.codec import storable
from sync.storage.fastpg import is_postgres
from sync.storage.fastsql import is_sqlite, sqlite_table

#: A record id as nodes write it (anything else is checked by ``is_uuid``).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: Timestamps before this are certainly a wrong clock.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)


class Applier(BulkInserts, OneOperation):
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
        #: A record's maker as nodes wrote it -> whether it is this node (see is_own).
        self.origins: dict[Any, bool] = {}
        #: Tables this page inserted rows into.
        self.grown: set[str] = set()
        tolerance = timedelta(seconds=float(state.config("SYNC_CLOCK_TOLERANCE")))
        self.latest_plausible = self.now + tolerance

    # -- bookkeeping -------------------------------------------------------------------------
    def reject(self, op: Op, code: str, message: str) -> None:
        body = op.body if isinstance(op.body, dict) else {}
        row_id = uuid_or_none(body.get("i"))
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
            log_place(places[0]), log_place(places[1]), self.node.id, op.seq, echo, op.digest,
        ))
        self.applied += 1

    def central_change(self, spec: TableSpec, row_id: uuid.UUID, places: tuple) -> None:
        """A change central itself made while applying (a flag on another record)."""
        self.changes.append(Change(spec.name, row_id, "u", log_place(places[0]),
                                   log_place(places[1])))

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
        if not is_uuid(body.get("i")):
            return None, ("invalid", "The record id is not a UUID.")
        if body["o"] != "d" and not isinstance(body.get("d"), dict):
            return None, ("invalid", "The operation carries no values.")
        return spec, None

    def add_conflict(self, kind: str, spec: TableSpec, row_id: uuid.UUID, op: Op | None,
                     field_name: str | None = None, central_value: Any = None,
                     node_value: Any = None, base_value: Any = None,
                     other_row_id: uuid.UUID | None = None, place: tuple | None = None) -> None:
        """Open a conflict for a coordinator (or refresh the open one on the same field)."""
        c = self.state.tables.conflicts
        community = log_place(place[0]) if place else None
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
