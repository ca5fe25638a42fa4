"""The field node's side of the protocol: one sync (handshake, push, pull).

Requests go through :class:`sync.node.transport.Transport` (keep-alive, gzip, TLS checks); the
node's credential and enrolment are in :mod:`sync.node.transport` too. Central's answers are checked
by :mod:`sync.node.answers`; the loop, renumbering and status are in :mod:`sync.node.runner`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from sync import errors, synclog
from sync.node import apply_pull, local
from sync.node.answers import Flight, answer_number, answer_refusals, fetch_page
from sync.node.media import transfer
from sync.node.transport import Transport, encode_body, load_credentials, transport_for
from sync.state import PROTOCOL_VERSION, AppState

log = logging.getLogger(__name__)


# -- one sync --------------------------------------------------------------------------------
@dataclass
class Report:
    """What one sync did (also kept in the node's sync log)."""

    ok: bool = False
    pushed: int = 0
    rejected: int = 0
    conflicts: int = 0
    pulled: int = 0
    failed: int = 0
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    seconds: float = 0.0
    error_code: str | None = None
    error: str | None = None
    rejections: list[dict[str, Any]] = field(default_factory=list)
    #: What the transfer of files after the records did (``sync/node/media.py``).
    media: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "rejections"}



class _Asked:
    """Pull requests asked ahead of the page being applied: one at most per connection,
    answered in the order they were asked (see :meth:`NodeSync.pull_all`)."""

    def __init__(self, sync: NodeSync, links: list[Transport], limit: int,
                 gap: list[int] | None) -> None:
        self.sync = sync
        self.links = links
        self.limit = limit
        self.gap = gap
        self.executor = ThreadPoolExecutor(max_workers=len(links), thread_name_prefix="sync-pull")
        self.flight: deque[tuple[Future[dict[str, Any]], Transport]] = deque()

    def ask(self, after: int, skip: int = 0) -> None:
        """Ask for the page after ``after`` (``skip`` 1: the one after it) on a free link."""
        busy = {link for _request, link in self.flight}
        link = next(x for x in self.links if x not in busy)
        self.flight.append(
            (self.sync._ask_page(link, after, self.limit, self.gap, self.executor, skip), link))

    def next(self) -> dict[str, Any]:
        """The answer to the oldest request asked ahead."""
        request, _link = self.flight.popleft()
        return request.result()

    def now(self, after: int) -> dict[str, Any]:
        """The page after ``after``, asked for alone once the requests ahead are answered."""
        for request, _link in self.flight:
            with contextlib.suppress(errors.SyncError):
                request.result()
        self.flight.clear()
        return self.sync._ask_page(self.links[0], after, self.limit, self.gap, None).result()

    def cut(self) -> None:
        """Cut the connections of the requests still asked ahead (their pages are not wanted)."""
        for _request, link in self.flight:
            link.abort()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


class NodeSync:
    """One sync of this node with central: handshake, push every page, pull every page."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.session = state.session
        self.report = Report()
        #: How many times the configured size the next push page may be (see _grow_pages).
        self.page_scale = 1

    def run(self) -> Report:
        """Sync once.

        :raises sync.errors.SyncError: the sync stopped; what was committed stays committed
            and the next sync resumes from there.
        """
        state = self.state
        started = time.monotonic()
        creds = load_credentials(state)
        if creds is None:
            error = errors.NotEnrolled()
            self._finish(started, error, None)
            raise error
        owner = local.acquire_lock(state)
        transport = transport_for(state, creds)
        failure: errors.SyncError | None = None
        try:
            self._sync(transport, owner)
        except errors.SyncError as error:
            failure = error
            if error.code == "node_revoked":
                self.session.rollback()
                for exchange in state.exchanges.values():
                    if exchange.revoked is not None:
                        exchange.revoked(state)  # e.g. central's accounts leave this node
            raise
        finally:
            transport.close_all()
            self.session.rollback()
            local.release_lock(state, owner)
            self._finish(started, failure, transport)
        return self.report

    def _sync(self, transport: Transport, owner: str) -> None:
        state = self.state
        hs = self.handshake(transport)
        self._after_restore(hs)
        # Central's "acked" is not taken on trust: operations still pending here are sent
        # again; central acknowledges a replay of the same bytes without applying it twice and
        # refuses other bytes under a used number (a node restored from a backup).
        pushed_any = self.push_all(transport, owner)
        cursor = local.get_value(state, "cursor")
        self.session.rollback()
        if pushed_any or cursor != hs.get("horizon"):
            self.pull_all(transport, owner, cursor)
        # The pull may have cut pages it had asked ahead (an aborted connection stays unusable):
        # what follows goes on a connection of its own then.
        rest = transport.reopened()
        try:
            self.exchange_all(rest, hs.get("stamps"))
            self.report.ok = True
            if state.media is not None:
                # The files after the records, never holding them up: a failure is reported in
                # report.media and the records stay synced.
                self.report.media = transfer(state, rest).as_dict()
        finally:
            if rest is not transport:
                rest.close()
        keep = state.config("SYNC_OUTBOX_KEEP_DAYS")
        if keep is not None:
            try:
                local.prune_outbox(state, float(keep))
            except SQLAlchemyError:  # housekeeping: never fails a sync (tried again next time)
                self.session.rollback()

    def exchange_all(self, transport: Transport, stamps: Any) -> None:
        """The app's exchanges (:class:`~sync.state.Exchange`) that are due, after the records
        went both ways; each commits what it applies, so a cut afterwards loses nothing of it."""
        stamps = stamps if isinstance(stamps, dict) else {}
        for exchange in self.state.exchanges.values():
            if exchange.run is None:
                continue
            stamp = stamps.get(exchange.name)
            if exchange.due is not None and not exchange.due(
                    self.state, stamp if isinstance(stamp, str) else None):
                continue
            path = f"/x/{exchange.name}"
            self.session.rollback()
            exchange.run(self.state, lambda payload, path=path: transport.post(path, payload))

    def _after_restore(self, hs: dict[str, Any]) -> None:
        """Central restored from a backup lost what came after it: the node sends its own
        operations central no longer has again, and pulls its scope from the start if central's
        log no longer holds the change its cursor names (it would skip what central numbers
        again)."""
        state = self.state
        central_acked = answer_number(hs, "acked", 0)
        if central_acked < local.get_value(state, "acked_seq"):
            again = local.send_again(state, central_acked)
            log.warning("central acknowledges up to %s only: %s operations sent again",
                        central_acked, again)
        if hs.get("cursor_lost") is True:
            local.forget_cursor(state)
            log.warning("central's log lost the pull cursor's change: pulling from the start")
        self.session.rollback()

    def handshake(self, transport: Transport) -> dict[str, Any]:
        state = self.state
        c = local.counts(state)
        body = {
            "protocol": PROTOCOL_VERSION,
            "schema": state.schema_version(self.session),
            "app": state.app_version,
            "time": state.now().isoformat(),
            "seq": local.get_value(state, "node_seq"),
            "acked": local.get_value(state, "acked_seq"),
            "cursor": local.get_value(state, "cursor"),
            "mark": local.get_note(state, "cursor")[0],
            **c,
        }
        self.session.rollback()
        answer = transport.post("/handshake", body)
        if type(answer.get("protocol")) is not int or answer["protocol"] != PROTOCOL_VERSION:
            raise errors.ProtocolUnsupported(
                f"Central speaks sync protocol {answer.get('protocol')}, this node "
                f"{PROTOCOL_VERSION}.")
        return answer

    def _note_rejections(self, rejected: list[dict[str, Any]]) -> None:
        self.report.rejected += len(rejected)
        self.report.rejections.extend(rejected)

    def push_all(self, transport: Transport, owner: str) -> bool:
        """Push every pending page, with up to two pages in flight on two connections.

        While central applies one page, the next is already on its way: central checks and
        converts it (in another worker) while the one before is applied, and the node reads
        and compresses the page after, then records the answers in order. Pages are still
        applied one at a time and in order: central takes the node's lock for each.

        A page goes out before the answer to the one before is recorded: if the node stops in
        between, that page is still pending here and central recognises it when it comes again.
        A page sent ahead that reached central before the one before it is refused as a gap;
        it is sent again once that one is recorded.
        """
        state = self.state
        pushed = False
        links = [transport, transport.sibling()]
        # The executor waits for requests still running before the sync goes on or ends.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sync-push") as sender:
            flight: deque[Flight] = deque()

            def send(page: tuple[list[bytes], bytes, dict[str, str]]) -> None:
                busy = {f.link for f in flight}
                link = next(x for x in links if x not in busy)
                behind = flight[-1].last if flight else None
                flight.append(self._send_page(sender, link, page, behind))

            page = self._push_page(after=0)  # the next page to send, read and compressed
            while page is not None or flight:
                while page is not None and len(flight) < len(links):
                    send(page)
                    page = self._push_page(after=flight[-1].last)
                sent = flight.popleft()
                try:
                    answer = sent.request.result()
                except errors.SequenceGap as gap:
                    expected = gap.details.get("expected")
                    if not (sent.ahead and isinstance(expected, int) and expected < sent.first):
                        raise
                    # It overtook the page before it (central still expected that page's
                    # operations), which is recorded now: send it and what followed again,
                    # alone first.
                    for later in flight:
                        with contextlib.suppress(errors.SyncError):
                            later.request.result()
                    flight.clear()
                    page = self._push_page(after=sent.first - 1)
                    continue
                if page is not None:  # out at once: central reads it while this is recorded
                    send(page)
                    page = None
                state.fault("push.after_response")
                acked = answer_number(answer, "acked", 0)
                rejected = answer_refusals(answer)
                conflicts = answer_number(answer, "conflicts", 0)
                if acked < sent.last:
                    raise errors.BadResponse(f"Central acknowledged {acked}, not {sent.last}.")
                self._grow_pages(sent)
                local.reconcile(state, acked, rejected)
                state.fault("push.after_mark")
                self._note_rejections(rejected)
                self.report.pushed += len(sent.lines)
                self.report.conflicts += conflicts
                local.renew_lock(state, owner)
                self.session.commit()
                pushed = True
                if flight:
                    page = self._push_page(after=flight[-1].last)
        return pushed

    def _send_page(self, sender: ThreadPoolExecutor, link: Transport,
                   page: tuple[list[bytes], bytes, dict[str, str]], behind: int | None
                   ) -> Flight:
        """Send a page; ``behind``: the last operation of the page still waiting for its
        answer (central applies that page first, see ``X-Sync-After``)."""
        self.state.fault("push.before_send")
        lines, body, headers = page
        if behind is not None:
            headers = {**headers, "X-Sync-After": str(behind)}
        return Flight(lines, json.loads(lines[0])["s"], json.loads(lines[-1])["s"], link,
                       sender.submit(link.send, "/push", body, headers), behind is not None,
                       time.monotonic())

    def _grow_pages(self, answered: Flight) -> None:
        """Let the next pages grow when this one was answered quickly, or bring them back.

        The time from sending a page to its answer covers its transfer, central's work and
        its wait for the page before it. Under ``SYNC_PUSH_FAST_S`` the link is fast: the
        next pages are read twice as large, up to ``SYNC_PUSH_PAGE_GROWTH`` times the
        configured size (central applies fewer pages, each with its own commit and look-ups).
        Slower, they go back to the configured size at once: on a weak link a page cut on the
        way is sent again whole, so it stays small there.
        """
        state = self.state
        if time.monotonic() - answered.sent_at <= float(state.config("SYNC_PUSH_FAST_S")):
            self.page_scale = min(self.page_scale * 2,
                                  max(1, int(state.config("SYNC_PUSH_PAGE_GROWTH"))))
        else:
            self.page_scale = 1

    def _push_page(self, after: int) -> tuple[list[bytes], bytes, dict[str, str]] | None:
        """The next page of pending operations numbered above ``after``, encoded to send."""
        state = self.state
        scale = self.page_scale
        lines = local.outbox_page(state, int(state.config("SYNC_PUSH_PAGE_OPS")) * scale,
                                  int(state.config("SYNC_PUSH_PAGE_BYTES")) * scale, after=after)
        if not lines:
            return None
        return (lines, *encode_body(b"\n".join(lines), "application/x-ndjson"))

    def pull_all(self, transport: Transport, owner: str, cursor: int) -> None:
        """Pull and apply every page after ``cursor``, with up to two pages asked ahead on two
        connections while one is applied (central prepares them in two workers meanwhile).

        The first page is asked for alone: a sync that brings one page costs one request. When
        a page says more follow, the node asks for the page after the next one as well
        (``skip``: central passes over the page this one leads to, already asked for, and
        serves the one after it, naming the cursor it starts from).

        Only requests run ahead: pages are applied one after the other, each in its own
        transaction with the cursor it leads to (compare-and-set on the cursor it follows), so
        a page asked ahead is applied only after the one before it committed, and dropped when
        that one did not, or when it does not start where that one ended (the page before was
        not full when it was read and new changes came in since: asked for again from there).
        """
        state = self.state
        gap = local.own_gap(state)
        asked = _Asked(self, [transport, transport.sibling()],
                       int(state.config("SYNC_PULL_PAGE_ROWS")), gap)
        try:
            page = asked.now(cursor)
            while True:
                more = bool(page.get("m"))
                if more:  # asked before this page is applied: central prepares them meanwhile
                    if not asked.flight:
                        asked.ask(page["c"])
                    asked.ask(page["c"], skip=1)
                failed = self._apply_pulled(owner, page, cursor)
                cursor = page["c"]
                if not more:
                    break
                # After a page that quarantined rows, the requests asked ahead told central the
                # counts from before: ask again, so that central shows the node's.
                page = asked.now(cursor) if failed else asked.next()
                if page.get("s", cursor) != cursor:
                    page = asked.now(cursor)
            # A page asked ahead may still be on its way: not wanted (it may hold changes made
            # since, for the next sync), so it is cut rather than downloaded.
            asked.cut()
            if gap:
                local.set_note(state, "own_gap", None, None)
                self.session.commit()
        except BaseException:
            # This sync stops: the pages asked ahead are not wanted, so do not wait for them
            # (on a weak link, up to SYNC_TIMEOUT). The next sync asks again from the saved
            # cursor.
            transport.abort()
            raise
        finally:
            asked.close()

    def _apply_pulled(self, owner: str, page: dict[str, Any], cursor: int) -> int:
        """Apply a pulled page with the cursor it leads to; how many of its rows failed."""
        state = self.state
        state.fault("pull.before_apply")
        local.renew_lock(state, owner)  # committed with the page
        failed = apply_pull.apply_page(state, page, cursor)
        self.report.failed += failed
        self.report.pulled += sum(len(b.get("r", ())) + len(b.get("x", ())) for b in page["t"])
        return failed

    def _ask_page(self, transport: Transport, cursor: int, limit: int, gap: list[int] | None,
                  ahead: ThreadPoolExecutor | None, skip: int = 0) -> Future[dict[str, Any]]:
        """Request the page after ``cursor`` (``skip`` 1: the one after it) on ``transport``:
        in one of ``ahead``'s threads, or now (``None``).

        The body (the node's counts) is read here, in the caller's thread and session; the
        other thread only uses the connection, which nothing else uses until it is done.
        """
        c = local.counts(self.state)
        self.session.rollback()
        self.state.fault("pull.before_request")
        body: dict[str, Any] = {"cursor": cursor, "limit": limit, **c}
        if gap:
            body["gap"] = gap
        if skip:
            body["skip"] = skip
        if ahead is not None:
            return ahead.submit(fetch_page, transport, body)
        done: Future[dict[str, Any]] = Future()
        done.set_result(fetch_page(transport, body))
        return done

    def _finish(self, started: float, error: errors.SyncError | None,
                transport: Transport | None) -> None:
        state = self.state
        report = self.report
        report.seconds = round(time.monotonic() - started, 3)
        if transport is not None:
            report.requests = transport.requests
            report.bytes_sent = transport.bytes_sent
            report.bytes_received = transport.bytes_received
        now = state.now()
        session = self.session
        session.rollback()
        local.set_note(state, "last_attempt", None, now)
        if error is None and report.ok:
            local.set_note(state, "last_success", None, now)
            local.set_note(state, "last_error", None, None)
        elif error is not None:
            report.error_code = error.code
            report.error = error.message
            local.set_note(state, "last_error",
                           json.dumps({"code": error.code, "message": error.message}), now)
        synclog.write(state, session, None, "sync", error is None and report.ok,
                      int(report.seconds * 1000), code=report.error_code, message=report.error,
                      detail=report.as_dict(), at=now)
        session.commit()



def sync_once(state: AppState) -> Report:
    """Sync this node once (see :class:`NodeSync`)."""
    return NodeSync(state).run()
