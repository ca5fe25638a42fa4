"""The engine's state of an app: what ``SyncEngine().init_app`` (:mod:`sync.engine`) attaches.

Everything the engine knows about an app lives in ``app.extensions["sync"]`` (an
:class:`AppState`): its role, its synced tables, the node directory (central), how to read the
schema version. Nothing about a sync is kept in a worker's memory between requests. Apart from the
wiring in :mod:`sync.engine` so that every module can read the state without importing what
installs the engine (which imports nearly every module).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import Flask, current_app
from sqlalchemy.orm import Session, scoped_session

from sync.errors import SimulatedCrash
from sync.registry import Registry
from sync.schema import SyncTables

#: Version of the wire protocol (``/sync/v1``); a node and central must share it.
PROTOCOL_VERSION = 1

DEFAULTS: dict[str, Any] = {
    #: Operations per push page and the raw size a page may reach (then gzip).
    "SYNC_PUSH_PAGE_OPS": 2500,
    "SYNC_PUSH_PAGE_BYTES": 2_000_000,
    #: A push page answered within this many seconds lets the next ones grow, twice as large
    #: each time up to this many times the sizes above; a slower answer brings them back. Over
    #: a weak link pages stay small (less to send again when it drops); over a fast one central
    #: applies fewer, larger pages. A growth of 1 keeps pages at the sizes above.
    "SYNC_PUSH_FAST_S": 1.0,
    "SYNC_PUSH_PAGE_GROWTH": 4,
    #: Central: seconds a push page sent ahead waits for the page before it, should it
    #: overtake that page (then the node sends it again).
    "SYNC_AHEAD_WAIT": 5.0,
    #: Rows per pull page.
    "SYNC_PULL_PAGE_ROWS": 2500,
    #: Days an operation central acknowledged stays in the node's outbox (for diagnostics;
    #: refused, resent and discarded ones stay). ``None``: kept for ever.
    "SYNC_OUTBOX_KEEP_DAYS": 30.0,
    #: Central: days a superseded entry of the change log is kept (``fieldapp node
    #: compact-log``, run weekly by ``deploy/systemd/fieldapp-compact.timer``): a row's newest
    #: upsert, deletions and move notices are always kept (``sync.central.compact``).
    "SYNC_CHANGES_KEEP_DAYS": 90.0,
    #: Entries of the sync log kept per node (on central) and on a field node (0: all).
    "SYNC_LOG_KEEP": 2000,
    #: Seconds to wait for central (connect and each read).
    "SYNC_TIMEOUT": 60.0,
    #: ``fieldapp sync --loop``: seconds between syncs when all is well.
    "SYNC_INTERVAL": 300.0,
    #: The loop's back-off (seconds; ``sync.node.runner``): after the n-th failed sync in a row it
    #: waits a random time between half and all of ``SYNC_MIN_BACKOFF * 2**(n-1)``, capped at
    #: ``SYNC_MAX_BACKOFF``; an error that needs a person (revoked node, schema mismatch, a
    #: restored backup...) waits ``SYNC_MAX_BACKOFF``, central ``busy`` ``SYNC_MIN_BACKOFF``.
    "SYNC_MIN_BACKOFF": 5.0,
    "SYNC_MAX_BACKOFF": 3600.0,
    #: A clock further than this from central's (seconds) is flagged.
    "SYNC_CLOCK_TOLERANCE": 300.0,
    #: CA bundle used to check central's certificate (None: the system's).
    "SYNC_CA_FILE": None,
    #: Schema versions central accepts from nodes besides its own.
    "SYNC_ACCEPT_SCHEMAS": (),
    #: Largest push page central reads (bytes, after gzip; the raw body is also bounded by
    #: the app's ``MAX_CONTENT_LENGTH``): twice the largest page a node makes
    #: (``SYNC_PUSH_PAGE_BYTES`` x ``SYNC_PUSH_PAGE_GROWTH``); raise them together.
    "SYNC_MAX_INFLATED": 16 * 1024 * 1024,
    #: Largest body of an enrolment, a handshake or a pull (bytes, before and after gzip):
    #: theirs are a few hundred bytes, and an enrolment is read before anyone is known.
    "SYNC_MAX_SMALL_BODY": 8 * 1024,
    #: Seconds an enrolment code stays valid.
    "SYNC_ENROL_TTL": 7 * 24 * 3600,
    #: Tests: {"point": count or callable} raises SimulatedCrash at a named step.
    "SYNC_FAULTS": None,
    #: Tests: shift this node's clock by so many seconds.
    "SYNC_CLOCK_OFFSET": 0.0,
}


@dataclass
class NodeInfo:
    """A node as central's directory knows it."""

    id: uuid.UUID
    code: str
    name: str
    #: Community ids the node serves; ``None``: every community.
    scope: frozenset[uuid.UUID] | None


class NodeDirectory(Protocol):
    """Central's list of nodes (provided by the app: the engine does not own the nodes table)."""

    def authenticate(self, session: Session, node_id: uuid.UUID, secret: str) -> NodeInfo:
        """The node, or :class:`sync.errors.UnknownNode` / ``BadCredential`` / ``NodeRevoked``."""

    def enrol(self, session: Session, code: str, facts: dict[str, Any]) -> tuple[NodeInfo, str]:
        """Exchange a one-time code for the node and a new secret (``EnrolmentRefused``)."""

    def record_contact(self, session: Session, node_id: uuid.UUID, facts: dict[str, Any]) -> None:
        """Remember what the node reported (versions, pending, clock, errors, success)."""


class BlobStore(Protocol):
    """Where the app keeps the files its records name by SHA-256 (photos, scans): the engine
    moves their bytes (``sync/node/media.py``, ``sync/central/media.py``) and keeps them in
    the app's store, which it never imports."""

    def has(self, sha256: str) -> bool:
        """Whether the file is stored."""

    def size(self, sha256: str) -> int | None:
        """Its size, ``None`` when not stored."""

    def open(self, sha256: str) -> BinaryIO | None:
        """The stored file opened for reading, ``None`` when not stored."""

    def put_file(self, path: Path, sha256: str) -> None:
        """Move a finished file into the store, checked against ``sha256`` (a mismatch:
        ``ValueError``, the file removed)."""


@dataclass
class MediaHooks:
    """What the app tells the engine about its files (``SyncEngine.init_app(media=...)``).

    :param store: the app's store.
    :param partial_folder: where pieces of a file being received are kept until it is whole.
    :param node_hashes: a node's hashes its records name (files to send, or to fetch when
        missing).
    :param allowed: central: whether the node may send or receive the file (a record of its
        scope names it).
    :param max_bytes: the largest file moved.
    :param chunk_bytes: the size of a piece.
    :param confirmed: a node: remember that central holds these files (``node_hashes`` then
        leaves them out); the engine commits.
    :param partial_max_age_s: a partial file not written to for this long is the piece of an
        abandoned transfer: removed (:meth:`sweep_partials`).
    :param wanted: central: which of these hashes (that it lacks) it wants now,
        ``wanted(session, node, hashes) -> set``; the others a node keeps and offers again at
        its next sync. Without it, central wants every file.
    """

    store: BlobStore
    partial_folder: Path
    node_hashes: Callable[[Session], Iterable[str]]
    allowed: Callable[[Session, NodeInfo, str], bool]
    max_bytes: int
    chunk_bytes: int
    confirmed: Callable[[Session, list[str]], None] | None = None
    partial_max_age_s: float = 48 * 3600
    wanted: Callable[[Session, NodeInfo, list[str]], set[str]] | None = None
    #: When :meth:`sweep_partials` last ran in this process (``time.monotonic``).
    swept_at: float | None = field(default=None, compare=False)

    def sweep_partials(self, max_age_s: float | None = None) -> list[str]:
        """Remove the partial files of abandoned transfers: those not written to for
        ``max_age_s`` (``partial_max_age_s`` by default; by their modification time, so a
        transfer being resumed keeps its piece). A file a writer holds locked is left alone.
        Returns the hashes removed."""
        import fcntl
        import os
        import time

        self.swept_at = time.monotonic()
        now = time.time()
        max_age_s = self.partial_max_age_s if max_age_s is None else max_age_s
        removed = []
        if not self.partial_folder.is_dir():
            return removed
        for part in sorted(self.partial_folder.glob("*.part")):
            try:
                if now - part.stat().st_mtime < max_age_s:
                    continue
                with open(part, "ab") as held:
                    try:
                        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # being written this very moment
                    if now - os.fstat(held.fileno()).st_mtime < max_age_s:
                        continue
                    part.unlink()
            except FileNotFoundError:
                continue  # finished (moved into the store) or removed meanwhile
            except OSError:
                continue  # unreadable: left for an operator (``fieldapp media check``)
            removed.append(part.name.removesuffix(".part"))
        return removed

    def sweep_partials_due(self, every_s: float = 3600) -> None:
        """:meth:`sweep_partials`, at most once every ``every_s`` seconds in this process
        (central runs it as nodes send; it has no loop of its own)."""
        import time

        if self.swept_at is None or time.monotonic() - self.swept_at >= every_s:
            self.sweep_partials()


@dataclass
class Exchange:
    """An app's own request riding on sync (e.g. user accounts): central answers it for an
    authenticated node at ``POST /sync/v1/x/<name>``; a node runs it after each sync that got
    through, holding its sync lock.

    :param name: the URL segment (letters, digits, ``-``).
    :param answer: central's side, ``answer(session, node, body) -> dict``; it may write (central
        commits after it). A :class:`sync.errors.SyncError` it raises is the answer.
    :param run: the node's side, ``run(state, send)``, where ``send(payload) -> dict`` posts to
        central and returns its answer (or raises the :class:`sync.errors.SyncError` it carries).
    :param stamp: central's side, ``stamp(session, node) -> str``: a short digest of what the
        exchange would answer, sent in the handshake's answer (``stamps``).
    :param due: the node's side, ``due(state, stamp) -> bool``: whether to run the exchange this
        time (e.g. the stamp differs from what it last applied); without it, every sync runs it.
        A sync with nothing to do stays one handshake.
    :param revoked: the node's side, ``revoked(state)``: called (and committing what it does)
        when central answers that it revoked this node.
    """

    name: str
    answer: Callable[[Session, NodeInfo, dict[str, Any]], dict[str, Any]] | None = None
    run: Callable[[AppState, Callable[[dict[str, Any]], dict[str, Any]]], None] | None = None
    stamp: Callable[[Session, NodeInfo], str] | None = None
    due: Callable[[AppState, str | None], bool] | None = None
    revoked: Callable[[AppState], None] | None = None


@dataclass
class AppState:
    """The engine's view of one app."""

    app: Flask
    role: str
    registry: Registry
    tables: SyncTables
    session: scoped_session
    schema_version: Callable[[Session], str]
    app_version: str
    directory: NodeDirectory | None = None
    #: The app's exchanges by name (see :class:`Exchange`).
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    #: The app's files moved apart from the records (``None``: none).
    media: MediaHooks | None = None
    faults_fired: list[str] = field(default_factory=list)
    fault_hits: dict[str, int] = field(default_factory=dict)

    def config(self, key: str) -> Any:
        return self.app.config.get(key, DEFAULTS[key])

    def now(self) -> datetime:
        """This installation's clock (UTC), shifted in tests by ``SYNC_CLOCK_OFFSET``."""
        offset = float(self.config("SYNC_CLOCK_OFFSET") or 0)
        return datetime.now(UTC) + timedelta(seconds=offset)

    def fault(self, point: str) -> None:
        """Crash here if a test asked for it.

        ``SYNC_FAULTS = {point: n}`` raises :class:`SimulatedCrash` the n-th time the point is
        reached (once); ``{point: callable}`` calls it every time (it may block or raise).
        """
        faults = self.app.config.get("SYNC_FAULTS")
        if not faults or point not in faults:
            return
        action = faults[point]
        if callable(action):
            action()
            return
        hits = self.fault_hits.get(point, 0) + 1
        self.fault_hits[point] = hits
        if hits == int(action):
            self.faults_fired.append(point)
            raise SimulatedCrash(point)


def current_state(app: Flask | None = None) -> AppState | None:
    """The engine state of ``app`` (or the current app), ``None`` when sync is not set up."""
    try:
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    except RuntimeError:
        return None
    return app.extensions.get("sync")
