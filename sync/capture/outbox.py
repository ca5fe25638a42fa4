"""The field node's outbox written: captured operations numbered from the ``node_seq`` counter in
the capturing transaction (a rollback, even of a savepoint, takes the entry and its number back),
later flushes of the same transaction folded into the same entry.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sync.capture.counters import allocate_seqs
from sync.state import AppState
from sync.storage.fastsql import is_sqlite, sqlite_table


def dumps(value: Any) -> str:
    """Compact JSON as sent on the wire (UTF-8, no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
