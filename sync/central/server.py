"""Central's side of the protocol: the ``/sync/v1`` blueprint (see ``sync/README.md``).

Every request is authenticated by the node's credential (``Authorization: Node <id>:<secret>``),
bodies may be gzip in both directions, errors are ``{"error": {"code", "message", "details"}}``.
Nothing is kept in the worker between requests: state lives in the database.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import orjson
from flask import Blueprint, Response, request
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from sync import errors, gcpause, synclog, wire
from sync.capture.changelog import append_changes
from sync.central.apply import Applier
from sync.central.feed import horizon, pull_page
from sync.central.handshake import (
    check_versions,
    clock_skew,
    cursor_lost,
    missed_refusals,
    node_json,
)
from sync.central.intake import (
    after_header,
    credential,
    read_body,
    read_json,
    seq_range,
    small_limit,
    whole_number,
)
from sync.central.page import Op, PushOutcome, earlier_outcomes, parse_page
from sync.state import PROTOCOL_VERSION, AppState, NodeInfo, current_state
from sync.storage.fastpg import analyze_grown
from sync.storage.fastsql import begin_write, is_sqlite

bp = Blueprint("sync_api", __name__, url_prefix="/sync/v1")
log = logging.getLogger(__name__)

#: Bodies smaller than this are sent as they are (gzip would only add bytes).
GZIP_MIN = 400


def _state() -> AppState:
    state = current_state()
    if state is None or state.role != "central":
        raise errors.NotCentral()
    return state


def respond(payload: Any, status: int = 200) -> Response:
    """JSON, gzip when the client accepts it and the body is worth compressing."""
    # orjson writes what ``json.dumps(separators=(",", ":"), ensure_ascii=False)`` writes for
    # these values (dicts, lists, text, numbers), in a sixth of the time: a pulled page is 1 MB.
    try:
        body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a refusal naming what a node sent: an integer past 64 bits, half a
        # UTF-16 pair; json writes those (as escapes), and the node's json reads them.
        body = json.dumps(payload, separators=(",", ":")).encode()
    response = Response(body, status=status, mimetype="application/json")
    if len(body) >= GZIP_MIN and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(wire.gzip(body))
        response.headers["Content-Encoding"] = "gzip"
    return response


@bp.after_request
def lean_headers(response: Response) -> Response:
    # An API answer needs no page policy: the shortest CSP (the app keeps one that is set).
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.errorhandler(errors.SyncError)
def sync_error(error: errors.SyncError) -> Response:
    state = current_state()
    if state is not None:
        state.session.rollback()
    return respond(error.to_dict(), error.status)


def _authenticate(state: AppState, session: Session) -> NodeInfo:
    """The node of the request's credential, found before its body is read: a request
    without a valid one costs central a header and a lookup, never its body."""
    ident, secret = credential()
    assert state.directory is not None
    return state.directory.authenticate(session, ident, secret)


def _log(state: AppState, session: Session, node_id: uuid.UUID | None, action: str,
         started: float, ok: bool = True, code: str | None = None, message: str | None = None,
         **detail: Any) -> None:
    synclog.write(state, session, node_id, action, ok, int((time.monotonic() - started) * 1000),
                  code=code, message=message, detail=detail)


def _last_applied(state: AppState, session: Session, node_id: uuid.UUID) -> int:
    ns = state.tables.node_state
    value = session.execute(
        select(ns.c.last_applied_seq).where(ns.c.node_id == node_id)
    ).scalar_one_or_none()
    return int(value or 0)


def _ensure_node_state(state: AppState, session: Session, node_id: uuid.UUID) -> None:
    ns = state.tables.node_state
    if session.execute(select(ns.c.node_id).where(ns.c.node_id == node_id)).first() is None:
        try:
            with session.begin_nested():
                session.execute(insert(ns).values(node_id=node_id, last_applied_seq=0,
                                                  updated_at=state.now()))
        except IntegrityError:
            pass  # a concurrent request made it


@bp.post("/enroll")
def enroll() -> Response:
    """Exchange a one-time enrolment code for the node's identity and credential."""
    state = _state()
    session = state.session
    body = read_json(small_limit(state))  # nobody is authenticated yet: a small body only
    code = body.get("code")
    # Codes are short printable ASCII: anything else is no code (and not text for a query).
    if (not isinstance(code, str) or not code.strip() or len(code) > 64
            or not (code.isascii() and code.isprintable())):
        raise errors.EnrolmentRefused()
    assert state.directory is not None
    started = time.monotonic()
    node, secret = state.directory.enrol(session, code, body)
    _ensure_node_state(state, session, node.id)
    _log(state, session, node.id, "enroll", started, app=body.get("app"))
    acked = _last_applied(state, session, node.id)
    session.commit()
    return respond({
        "node": node_json(node), "secret": secret, "acked": acked,
        "schema": state.schema_version(session), "protocol": PROTOCOL_VERSION,
    })


@bp.post("/x/<name>")
def exchange(name: str) -> Response:
    """An app's own request riding on sync (:class:`~sync.state.Exchange`), for a node that
    proves who it is; its body is small."""
    state = _state()
    session = state.session
    found = state.exchanges.get(name)
    if found is None or found.answer is None:
        raise errors.UnknownExchange()
    node = _authenticate(state, session)
    body = read_json(small_limit(state))
    answer = found.answer(session, node, body)
    session.commit()
    return respond(answer)


@bp.post("/handshake")
def handshake() -> Response:
    """Versions, identity and where both sides stand; outcomes the node may have missed."""
    state = _state()
    session = state.session
    started = time.monotonic()
    node = _authenticate(state, session)
    body = read_json(small_limit(state))
    # Numbers central compares with its columns: in their range, or the handshake is refused.
    node_seq = whole_number(body, "seq")
    confirmed = whole_number(body, "acked", default=0)
    cursor = whole_number(body, "cursor")
    facts: dict[str, Any] = {k: body.get(k) for k in ("app", "schema", "pending", "quarantined")}
    skew = clock_skew(state, body.get("time"))
    if skew is not None:
        facts["clock_skew_s"] = skew
    try:
        schema = check_versions(state, session, body)
    except errors.SyncError as refusal:
        session.rollback()
        _refused(state, node, started, refusal, facts)
        raise
    _ensure_node_state(state, session, node.id)
    acked = _last_applied(state, session, node.id)
    if node_seq is not None and node_seq < acked:
        refusal = errors.SequenceRegressed(acked=acked, node=node_seq)
        session.rollback()
        _refused(state, node, started, refusal, facts)
        raise refusal
    rejected = missed_refusals(state, session, node.id, confirmed or 0, acked)
    top = horizon(state, session)
    lost = cursor_lost(state, session, cursor, body.get("mark"), top)
    if (not lost and cursor == top and node_seq == acked
            and not body.get("pending") and not rejected):
        facts["success"] = True  # nothing to push or pull: this handshake is the whole sync
    state.directory.record_contact(session, node.id, facts)  # type: ignore[union-attr]
    _log(state, session, node.id, "handshake", started, pending=body.get("pending"),
         clock_skew_s=skew, app=body.get("app"),
         **({"cursor_lost": True} if lost else {}))
    session.commit()
    answer = {
        "protocol": PROTOCOL_VERSION, "schema": schema, "time": state.now().isoformat(),
        "node": node_json(node), "acked": acked, "rejected": rejected, "horizon": top,
        "skew": skew,
    }
    stamps = {name: exchange.stamp(session, node) for name, exchange in state.exchanges.items()
              if exchange.stamp is not None}
    if stamps:
        answer["stamps"] = stamps
        session.rollback()  # the stamps only read
    if lost:
        answer["cursor_lost"] = True
    return respond(answer)


def _refused(state: AppState, node: NodeInfo, started: float, refusal: errors.SyncError,
             facts: dict[str, Any]) -> None:
    """Remember on the dashboard why a node was turned away (its own transaction)."""
    session = state.session
    facts = {**facts, "error_code": refusal.code, "error": refusal.message}
    state.directory.record_contact(session, node.id, facts)  # type: ignore[union-attr]
    _log(state, session, node.id, "handshake", started, ok=False, code=refusal.code,
         message=refusal.message)
    session.commit()


@bp.post("/push")
def push() -> Response:
    """Apply a page of the node's operations (one JSON object per line) exactly once."""
    with gcpause.paused():
        return _push()


def _push() -> Response:
    state = _state()
    session = state.session
    started = time.monotonic()
    node = _authenticate(state, session)
    session.rollback()  # no transaction held open while a page comes over a slow link
    raw = read_body(int(state.config("SYNC_MAX_INFLATED")))
    try:
        ops = parse_page(raw.split(b"\n"))
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.BadBody(f"The page is malformed: {error}") from error
    # Checked and converted before the node's lock: a page the node sent ahead is made ready
    # here while the page before it is still being applied.
    applier = Applier(state, session, node)
    applier.check(ops)
    ns = state.tables.node_state
    behind = _page_before(ops)
    session.info["applying_remote"] = True
    try:
        state.fault("central.push.before_lock")
        last = _lock_node(state, session, node.id)
        if behind is not None and last < behind:
            # Sent ahead, it overtook the page before it (still being read by another worker):
            # that page comes first. Without the lock, wait until it is applied.
            session.rollback()
            _wait_applied(state, session, node.id, behind)
            last = _lock_node(state, session, node.id)
        replayed = [op for op in ops if op.seq <= last]
        fresh = [op for op in ops if op.seq > last]
        if fresh and fresh[0].seq != last + 1:
            raise errors.SequenceGap(f"Expected operation {last + 1}, got {fresh[0].seq}.",
                                     expected=last + 1)
        for a, b in zip(fresh, fresh[1:], strict=False):
            if b.seq != a.seq + 1:
                raise errors.SequenceGap(f"Expected operation {a.seq + 1}, got {b.seq}.",
                                         expected=last + 1)
        outcome = PushOutcome(acked=last)
        outcome.rejected.extend(earlier_outcomes(state, session, node.id, replayed))
        if fresh:
            applier.run(fresh)
            state.fault("central.push.before_changelog")
            outcome.acked = fresh[-1].seq
            outcome.rejected.extend(applier.outcome_rejected)
            outcome.conflicts = applier.conflicts
            outcome.applied = applier.applied
            outcome.skewed = applier.skewed
            session.execute(update(ns).where(ns.c.node_id == node.id)
                            .values(last_applied_seq=outcome.acked))
            append_changes(state, session, applier.changes)
        _log(state, session, node.id, "push", started,
             first=fresh[0].seq if fresh else None, last=fresh[-1].seq if fresh else None,
             replayed=len(replayed), applied=outcome.applied, rejected=len(outcome.rejected),
             conflicts=outcome.conflicts, skewed=outcome.skewed, bytes=len(raw))
        state.fault("central.push.before_commit")
        session.commit()
    finally:
        session.info.pop("applying_remote", None)
    state.fault("central.push.after_commit")
    if applier.postgres and applier.grown:
        _analyze_grown(session, [*applier.grown, state.tables.changes.name])
    return respond({
        "acked": outcome.acked, "rejected": outcome.rejected, "conflicts": outcome.conflicts,
        "skewed": outcome.skewed,
    })


def _page_before(ops: list[Op]) -> int | None:
    """The last operation of the page the node sent before this one, on another connection
    and not yet answered (header ``X-Sync-After``), when it is just before this page's."""
    return after_header(ops[0].seq) if ops else None


def _lock_node(state: AppState, session: Session, node_id: uuid.UUID) -> int:
    """Take the node's row (the last operation applied) for this transaction.

    Taking it first serialises the node's pushes (a retry racing the original waits, then finds
    the operations applied, a page sent ahead waits for the one before) and, on SQLite, takes
    the write lock before anything is read.
    """
    ns = state.tables.node_state
    if is_sqlite(session):
        begin_write(session)
    locked = session.execute(
        update(ns).where(ns.c.node_id == node_id).values(updated_at=state.now())
    ).rowcount
    if not locked:
        _ensure_node_state(state, session, node_id)
    return _last_applied(state, session, node_id)


def _wait_applied(state: AppState, session: Session, node_id: uuid.UUID, seq: int) -> None:
    """Wait (a few seconds at most) until central has applied the node's operation ``seq``."""
    deadline = time.monotonic() + float(state.config("SYNC_AHEAD_WAIT"))
    while time.monotonic() < deadline:
        applied = _last_applied(state, session, node_id)
        session.rollback()
        if applied >= seq:
            return
        time.sleep(0.005)


def _analyze_grown(session: Session, tables: list[str]) -> None:
    """Keep PostgreSQL's statistics up with the tables this push grew (``fastpg``); a failure
    (no right to analyze, say) is logged, the push stands."""
    try:
        analyze_grown(session, tables)
    except DBAPIError:
        session.rollback()
        log.warning("ANALYZE after a push failed", exc_info=True)


@bp.post("/pull")
def pull() -> Response:
    """The next page of changes in the node's scope after its cursor (``skip``: the one after
    it)."""
    state = _state()
    session = state.session
    started = time.monotonic()
    node = _authenticate(state, session)
    body = read_json(small_limit(state))
    cursor = int(whole_number(body, "cursor", required=True))  # type: ignore[arg-type]
    limit = whole_number(body, "limit") or int(state.config("SYNC_PULL_PAGE_ROWS"))  # 0: default
    limit = min(limit, 10_000)
    gap = seq_range(body, "gap")
    skip = whole_number(body, "skip", default=0, high=1, nullable=False)
    page = pull_page(state, session, node, cursor, limit, own_gap=gap, skip=skip)
    rows = sum(len(t["r"]) + len(t.get("x", ())) for t in page["t"])
    facts: dict[str, Any] = {k: body[k] for k in ("pending", "quarantined") if k in body}
    if not page["m"]:
        facts["success"] = True
    state.directory.record_contact(session, node.id, facts)  # type: ignore[union-attr]
    _log(state, session, node.id, "pull", started, after=page.get("s", cursor), cursor=page["c"],
         rows=rows)
    session.commit()
    return respond(page)
