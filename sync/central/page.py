"""A push page as central reads it: its operations, how one is refused, what central answers.

A page is one JSON object per line; each operation keeps its bytes and their digest, so a replay
of an operation central already applied is recognised (and acknowledged again, with its earlier
refusal if it had one) and a reused number with other content is refused.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from sync.registry import TableSpec
from sync.state import AppState
from sync.storage.codec import INT_MAX, fast_uuid, storable
from sync.wire import MAX_DEPTH, too_deep_lines


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



def is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and fast_uuid(value) is not None
    except ValueError:
        return False


def uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def parse_page(lines: list[bytes]) -> list[Op]:
    """The operations of a push body (one JSON object per line), with their digests.

    :raises ValueError: a line is not JSON, nests deeper than :data:`sync.wire.MAX_DEPTH`, or
        the numbers do not increase (or pass a 64-bit integer).
    """
    if any(not line or line[:1].isspace() or line[-1:].isspace() for line in lines):
        lines = [line.strip() for line in lines]
        lines = [line for line in lines if line]
    if not lines:
        return []
    # One JSON array (a newline is JSON's whitespace), its lines' nesting bounded before any
    # parser runs: counted in one pass over the page, a real page's lines pass at once.
    joined = b"[" + b"\n,".join(lines) + b"]"
    if too_deep_lines(joined, lines):
        raise ValueError(f"an operation nests more than {MAX_DEPTH} levels")
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
    if previous > INT_MAX:  # the numbers increase: the last is the largest
        raise ValueError(f"operation numbers must not pass {INT_MAX}")
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
                row_id=uuid_or_none(op.body.get("i")) if isinstance(op.body, dict) else None,
                code="seq_reused", message=message,
                payload=op.line.decode("utf-8", "replace"), created_at=state.now()))
            out.append({"s": op.seq, "code": "seq_reused", "message": message})
        elif op.seq in refused:
            code, message = refused[op.seq]
            out.append({"s": op.seq, "code": code, "message": message})
    return out
