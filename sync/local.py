"""The field node's database side of a sync: outbox pages, acknowledgements, applying pulls.

Each function is one transaction. Applying a pulled page and saving the cursor after it are the
same transaction, so the cursor is never ahead of the data; a page that a crash interrupts is
pulled and applied again (applying is idempotent: rows are upserted by id).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from sync import collector, errors
from sync.codec import fast_uuid
from sync.engine import AppState
from sync.errors import db_error_code
from sync.fastsql import sqlite_table
from sync.registry import TableSpec

#: Marker: every field of the row has a local change still to be pushed.
ALL_FIELDS = frozenset({"*"})


# -- small state --------------------------------------------------------------------------
def get_value(state: AppState, key: str) -> int:
    t = state.tables.state
    value = state.session.execute(select(t.c.value).where(t.c.key == key)).scalar_one_or_none()
    return int(value or 0)


def get_note(state: AppState, key: str) -> tuple[str | None, Any]:
    """(text, at) of a state row, ``(None, None)`` when absent."""
    t = state.tables.state
    row = state.session.execute(select(t.c.text, t.c.at).where(t.c.key == key)).first()
    return (row.text, row.at) if row else (None, None)


def own_gap(state: AppState) -> list[int] | None:
    """The range ``[low, high]`` of this node's own operations its database lost (restored
    from a backup, see :func:`resequence`) that pulls must bring back, if any."""
    text_value, _at = get_note(state, "own_gap")
    return [int(x) for x in text_value.split(":")] if text_value else None


def get_notes(state: AppState, *keys: str) -> dict[str, tuple[str | None, Any]]:
    """(text, at) of several state rows in one statement; ``(None, None)`` for absent ones."""
    t = state.tables.state
    found = {key: (text_value, at) for key, text_value, at in state.session.execute(
        select(t.c.key, t.c.text, t.c.at).where(t.c.key.in_(keys)))}
    return {key: found.get(key, (None, None)) for key in keys}


def set_note(state: AppState, key: str, text_value: str | None, at: Any = None) -> None:
    """Set (or create) a state row's text and time (caller commits)."""
    t = state.tables.state
    session = state.session
    done = session.execute(update(t).where(t.c.key == key).values(text=text_value, at=at)).rowcount
    if not done:
        session.execute(insert(t).values(key=key, value=0, text=text_value, at=at))


# -- the node's sync lock -------------------------------------------------------------------
def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead(owner: str | None) -> bool:
    """Whether the owner of a lock was a process of this machine that no longer runs."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


LOCK_LEASE = timedelta(minutes=2)


def acquire_lock(state: AppState) -> str:
    """Take the node's sync lock (one sync at a time: loop, button, command).

    :raises sync.errors.Busy: another live sync holds it.
    """
    session = state.session
    owner = _owner()
    now = state.now()
    holder, until = get_note(state, "lock")
    if holder and until is not None and until > now and not _dead(holder):
        session.rollback()
        raise errors.Busy()
    set_note(state, "lock", owner, now + LOCK_LEASE)
    session.commit()
    # Two starting at once: the last writer wins, the other notices.
    if get_note(state, "lock")[0] != owner:
        session.rollback()
        raise errors.Busy()
    session.rollback()
    return owner


def renew_lock(state: AppState, owner: str) -> None:
    t = state.tables.state
    state.session.execute(update(t).where(t.c.key == "lock", t.c.text == owner)
                          .values(at=state.now() + LOCK_LEASE))


def release_lock(state: AppState, owner: str) -> None:
    session = state.session
    session.rollback()
    t = state.tables.state
    session.execute(update(t).where(t.c.key == "lock", t.c.text == owner)
                    .values(text=None, at=None))
    session.commit()


# -- outbox --------------------------------------------------------------------------------
def counts(state: AppState, cap: int | None = None) -> dict[str, int]:
    """How many operations wait to be pushed and how many records are quarantined.

    :param cap: count the pending operations only up to ``cap`` (the top bar's badge, shown on
        every page: a node that has not synced for weeks, or a freshly loaded one, holds
        hundreds of thousands). The answer then also has ``pending_capped``, 1 when more than
        ``cap`` wait and ``pending`` is ``cap``. Without it the count is exact (the handshake
        reports it to central; the node's sync page shows it).
    """
    o = state.tables.outbox
    q = state.tables.quarantine
    session = state.session
    pulled = (select(func.count()).select_from(q)
              .where(q.c.direction == "pull", q.c.resolved_at.is_(None)).scalar_subquery())
    if cap is None:
        by_status = dict(session.execute(
            select(o.c.status, func.count()).where(o.c.status.in_(("pending", "quarantined")))
            .group_by(o.c.status)).all())
        return {"pending": int(by_status.get("pending", 0)),
                "quarantined": int(by_status.get("quarantined", 0))
                + int(session.execute(select(pulled)).scalar_one())}
    # Counted over a LIMIT subquery: SQLite (and PostgreSQL) stop reading the (status, seq)
    # index after cap + 1 entries. One statement: the badge runs it on every page.
    first = select(o.c.seq).where(o.c.status == "pending").limit(cap + 1).subquery()
    row = session.execute(select(
        select(func.count()).select_from(first).scalar_subquery(),
        select(func.count()).select_from(o).where(o.c.status == "quarantined")
        .scalar_subquery(),
        pulled,
    )).one()
    pending, quarantined, pulled_count = (int(v) for v in row)
    return {"pending": min(pending, cap), "pending_capped": int(pending > cap),
            "quarantined": quarantined + pulled_count}


def outbox_page(state: AppState, max_ops: int, max_bytes: int, after: int = 0) -> list[bytes]:
    """The next operations to push (numbered above ``after``: the page before may still be on
    its way), each one line of JSON with its number first."""
    o = state.tables.outbox
    p = state.tables.outbox_payloads
    rows = state.session.execute(
        select(o.c.seq, p.c.payload).join(p, p.c.seq == o.c.seq)
        .where(o.c.status == "pending", o.c.seq > after).order_by(o.c.seq).limit(max_ops)
    ).all()
    lines: list[bytes] = []
    size = 0
    for seq, payload in rows:
        line = f'{{"s":{seq},{payload[1:]}'.encode()
        if lines and size + len(line) > max_bytes:
            break
        lines.append(line)
        size += len(line) + 1
    state.session.rollback()
    return lines


def reconcile(state: AppState, acked: int, rejected: list[dict[str, Any]]) -> None:
    """Record central's answer: refused operations are quarantined with their reason, every
    other operation up to ``acked`` is done. A refused one is never marked synced."""
    o = state.tables.outbox
    session = state.session
    now = state.now()
    for item in rejected:
        session.execute(
            update(o).where(o.c.seq == item["s"], o.c.status.in_(("pending", "acked")))
            .values(status="quarantined", error_code=str(item.get("code"))[:40],
                    error_message=item.get("message"), done_at=now)
        )
    session.execute(update(o).where(o.c.status == "pending", o.c.seq <= acked)
                    .values(status="acked", done_at=now))
    t = state.tables.state
    session.execute(update(t).where(t.c.key == "acked_seq", t.c.value < acked)
                    .values(value=acked))
    session.commit()


def prune_outbox(state: AppState, keep_days: float) -> int:
    """Delete the operations central acknowledged more than ``keep_days`` ago (at most once a
    day; its own transaction). Pending, refused (quarantined), resent and discarded operations
    stay. Safe at any time: numbers come from the ``node_seq`` counter, never from the outbox,
    and nothing reads an acknowledged operation again (a lost answer leaves it pending).

    :returns: how many were deleted.
    """
    session = state.session
    now = state.now()
    _text, last = get_note(state, "last_prune")
    if last is not None and timedelta(0) <= now - last < timedelta(days=min(keep_days, 1.0)):
        session.rollback()
        return 0
    o = state.tables.outbox
    gone = session.execute(delete(o).where(
        o.c.status == "acked", o.c.done_at < now - timedelta(days=keep_days))).rowcount
    set_note(state, "last_prune", None, now)
    session.commit()
    return int(gone or 0)


def requeue(state: AppState, seq: int) -> int | None:
    """Send a quarantined operation again (after the record was corrected) as a new one.

    An insert is sent again with the row as it is now; an update with its fields' current
    values. Returns the new operation's number, ``None`` when the record no longer exists.
    """
    from sync.capture import write_outbox

    o = state.tables.outbox
    p = state.tables.outbox_payloads
    session = state.session
    row = session.execute(
        select(o.c.row_id, p.c.payload).join(p, p.c.seq == o.c.seq)
        .where(o.c.seq == seq, o.c.status == "quarantined")
    ).first()
    if row is None:
        return None
    op = json.loads(row.payload)
    spec = state.registry.get(op["t"])
    if spec is None:
        return None
    current = session.execute(select(spec.table).where(spec.table.c.id == row.row_id)).first()
    if current is None and op["o"] != "d":
        return None
    values = dict(current._mapping) if current is not None else {}
    op["a"] = state.now().isoformat()
    if op["o"] == "i":
        op["d"] = spec.codec.encode_row(values)
    elif op["o"] == "u":
        op["d"] = spec.codec.encode_row(values, list(op["d"]))
    if spec.versioned and values:
        op["v"] = values.get("version")
    session.execute(update(o).where(o.c.seq == seq).values(
        status="resent", done_at=state.now()))
    session.info["sync_txmap"] = {}
    write_outbox(state, session, [op])
    new_seq = get_value(state, "node_seq")
    session.commit()
    return new_seq


def resequence(state: AppState, central_acked: int) -> int:
    """Renumber the pending operations after ``central_acked`` (a node restored from a backup
    numbers operations central has already seen under other content).

    Safe because applying is idempotent: an operation central already applied before the
    backup was restored changes nothing when it arrives again under a new number.

    :returns: how many operations were renumbered.
    """
    o = state.tables.outbox
    t = state.tables.state
    session = state.session
    pending = session.execute(
        select(o.c.seq).where(o.c.status == "pending").order_by(o.c.seq)).scalars().all()
    top = max(get_value(state, "node_seq"), central_acked)
    # Move them out of the way first (numbers are the primary key), then into place.
    shift = top + len(pending) + 1
    for seq in pending:
        session.execute(update(o).where(o.c.seq == seq).values(seq=seq + shift))
    for n, seq in enumerate(pending, start=1):
        session.execute(update(o).where(o.c.seq == seq + shift).values(seq=top + n))
    # What this database holds of its own operations: everything before the first pending one.
    held = (pending[0] - 1) if pending else get_value(state, "node_seq")
    session.execute(update(t).where(t.c.key == "node_seq").values(value=top + len(pending)))
    session.execute(update(t).where(t.c.key == "acked_seq").values(value=central_acked))
    # Central skips this node's own changes when it pulls; those this database lost (made
    # after the backup) must come back: remember the range until a pull has brought them.
    if central_acked > held:
        set_note(state, "own_gap", f"{held}:{central_acked}", state.now())
    session.commit()
    return len(pending)


def discard(state: AppState, seq: int) -> bool:
    """Give up a quarantined operation (it stays listed as discarded)."""
    o = state.tables.outbox
    done = state.session.execute(update(o).where(o.c.seq == seq, o.c.status == "quarantined")
                                 .values(status="discarded", done_at=state.now())).rowcount
    state.session.commit()
    return bool(done)


# -- applying a pulled page -------------------------------------------------------------------
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
        for row_id in gone:
            self._one(spec, lambda i=row_id: self.session.execute(
                delete(spec.table).where(spec.table.c.id == i)), row_id, {"id": str(row_id)})
        self.applied += len(rows) + len(gone)

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
    with collector.paused():
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
                                .values(value=page["c"])).rowcount
        if not moved:
            session.rollback()
            raise errors.Busy("The pull cursor moved: another sync is running.")
        if session.get_bind().dialect.name == "sqlite" and not careful:
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
        applier = PageApplier(state, careful=careful)
        for block in page.get("t", ()):
            applier.block(block)
        state.fault("pull.before_commit")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop("applying_remote", None)
    state.fault("pull.after_commit")
    return applier.failed
