"""The field node's database side of a sync: its notes and counters, the sync lock, outbox pages,
acknowledgements, operations sent again or renumbered.

Each function is one transaction. A pulled page is applied by :mod:`sync.node.apply_pull`.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from sync import errors
from sync.capture.outbox import write_outbox
from sync.capture.rowops import insert_row_op
from sync.state import AppState
from sync.storage.fastsql import is_sqlite


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
    session = state.session
    if is_sqlite(session):  # the rows straight from the driver: SQLAlchemy's rows cost more
        cursor = session.connection().connection.dbapi_connection.cursor()
        try:
            rows = cursor.execute(
                f'SELECT o.seq, p.payload FROM "{o.name}" AS o JOIN "{p.name}" AS p '  # noqa: S608
                "ON p.seq = o.seq WHERE o.status = 'pending' AND o.seq > ? "
                "ORDER BY o.seq LIMIT ?", (after, max_ops)).fetchall()
        finally:
            cursor.close()
    else:
        rows = session.execute(
            select(o.c.seq, p.c.payload).join(p, p.c.seq == o.c.seq)
            .where(o.c.status == "pending", o.c.seq > after).order_by(o.c.seq).limit(max_ops)
        ).all()
    lines: list[bytes] = []
    append = lines.append
    size = 0
    for seq, payload in rows:
        line = f'{{"s":{seq},{payload[1:]}'.encode()
        size += len(line) + 1
        if size > max_bytes + 1 and lines:
            break
        append(line)
    session.rollback()
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


def forget_cursor(state: AppState) -> None:
    """Pull from the start again: central's log no longer holds the change the cursor names
    (central restored from a backup). Pulled rows are applied as any pull (idempotent; fields
    with a change still to push are kept)."""
    t = state.tables.state
    state.session.execute(update(t).where(t.c.key == "cursor").values(value=0, text=None))
    state.session.commit()


def send_again(state: AppState, central_acked: int) -> int:
    """Central acknowledges less than it did (restored from a backup): the operations after
    ``central_acked`` are pending again and go out as they were first sent, under the same
    numbers (central has none of them now). Refused ones go too: central judges them again.

    :raises errors.CentralRegressed: some are no longer kept here (pruned), so central would
        wait for them for ever.
    :returns: how many operations are pending again.
    """
    o = state.tables.outbox
    session = state.session
    held = session.execute(select(o.c.seq).where(o.c.seq > central_acked)
                           .order_by(o.c.seq)).scalars().all()
    if held and held[0] != central_acked + 1:
        session.rollback()
        raise errors.CentralRegressed(acked=central_acked, kept_from=held[0])
    again = session.execute(
        update(o).where(o.c.seq > central_acked, o.c.status != "pending")
        .values(status="pending", done_at=None, error_code=None, error_message=None)).rowcount
    t = state.tables.state
    session.execute(update(t).where(t.c.key == "acked_seq").values(value=central_acked))
    session.commit()
    return int(again or 0)


def send_everything(state: AppState, central_acked: int) -> int | None:
    """After ``central_regressed``: central lost operations of this node that it no longer
    keeps. Every record this node holds goes out again as it is now (an insert, parents before
    children), numbered from ``central_acked`` + 1, in place of the operations after it; kept
    deletes follow (their records are gone here).

    Central settles each insert as any: a record it lost is added; one it holds the same, or in
    a newer version, changes nothing here or comes back; one this node changed since central's
    backup opens a conflict per differing field, both values kept for a coordinator.

    :returns: how many operations go out; ``None`` when nothing was lost for good (a plain sync
        sends the operations again, see :func:`send_again`), nothing is changed then.
    """
    o = state.tables.outbox
    p = state.tables.outbox_payloads
    t = state.tables.state
    session = state.session
    first_kept = session.execute(select(func.min(o.c.seq)).where(o.c.seq > central_acked)
                                 ).scalar_one_or_none()
    lost = central_acked < get_value(state, "acked_seq") and first_kept != central_acked + 1
    if not lost:
        session.rollback()
        return None
    deletes = [json.loads(payload) for (payload,) in session.execute(
        select(p.c.payload).join(o, o.c.seq == p.c.seq)
        .where(o.c.seq > central_acked, o.c.op == "d").order_by(o.c.seq))]
    session.execute(delete(o).where(o.c.seq > central_acked))  # their payloads go with them
    session.execute(update(t).where(t.c.key.in_(("node_seq", "acked_seq")))
                    .values(value=central_acked))
    now = state.now().isoformat()
    session.info["sync_txmap"] = {}
    sent = 0
    for spec in sorted(state.registry.specs.values(), key=lambda s: state.registry.order[s.name]):
        rows = session.execute(select(spec.table).order_by(spec.table.c.id)).mappings()
        while chunk := rows.fetchmany(5000):  # a node's whole data never sits in memory
            ops = [insert_row_op(spec, row, now) for row in chunk]
            write_outbox(state, session, ops)
            sent += len(ops)
    if deletes:
        write_outbox(state, session, deletes)
    session.commit()
    return sent + len(deletes)


def discard(state: AppState, seq: int) -> bool:
    """Give up a quarantined operation (it stays listed as discarded)."""
    o = state.tables.outbox
    done = state.session.execute(update(o).where(o.c.seq == seq, o.c.status == "quarantined")
                                 .values(status="discarded", done_at=state.now())).rowcount
    state.session.commit()
    return bool(done)
