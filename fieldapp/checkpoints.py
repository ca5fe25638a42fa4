"""SQLite's WAL checkpoints, kept off the request path.

In WAL mode SQLite appends every commit to a log and copies the log back into the database file
(a *checkpoint*) when a commit leaves more than ``wal_autocheckpoint`` pages in it (1,000 by
default): that commit, and so that user's request, pays for the copy and its ``fsync``. Saving
a 60-family attendance sheet writes about 250 pages, so every fourth save waited some 30 ms
more than the others.

Instead, a commit on a SQLite engine notes its database file, and one daemon thread per process
checkpoints the noted files every ``SQLITE_CHECKPOINT_SECONDS`` (``PASSIVE``: it never waits for
a reader or a writer, and a writer never waits for it). The app's own connections checkpoint
only past ``SQLITE_CHECKPOINT_PAGES`` pages, a bound on the log's size should the thread fall
behind. ``SQLITE_CHECKPOINT_SECONDS = 0`` keeps SQLite's own behaviour.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def checkpoint(path: str) -> tuple[int, int, int] | None:
    """Run a passive checkpoint of the database file at ``path``.

    :returns: SQLite's ``(busy, log pages, pages checkpointed)`` — ``(1, -1, -1)`` when SQLite
        said the file is locked (another process's checkpoint: try again later) —, or ``None``
        when the file is gone (a deleted test instance) or cannot be opened.
    """
    try:
        # mode=rw: never create a database file that is no longer there.
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0,
                               check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        return tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    except sqlite3.Error as error:  # locked by a checkpoint of another process: next time
        log.debug("checkpoint of %s skipped: %s", path, error)
        return (1, -1, -1)
    finally:
        conn.close()


def fold(engine: Engine, attempts: int = 200) -> None:
    """Copy the whole WAL into the database file and empty it, so that a plain copy of the file
    (a test template, a benchmark's cached instance) holds everything.

    The background thread may be checkpointing the same file at that moment: SQLite then
    answers "busy" and leaves part of the log, so this tries again until it is done.

    :raises RuntimeError: when the log still could not be folded after ``attempts`` tries.
    """
    for _ in range(attempts):
        with engine.connect() as connection:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
            connection.commit()
        if not busy:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the WAL of {engine.url.database} could not be checkpointed")


class Checkpointer:
    """The process's background checkpoints: files noted by commits, checkpointed together."""

    def __init__(self, interval: float = 1.0, background: bool = True) -> None:
        self.interval = interval
        self.background = background
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None

    def note(self, path: str) -> None:
        """Checkpoint ``path`` soon (called after every commit: cheap)."""
        with self._lock:
            self._pending.add(path)
            if self.background and self._pid != os.getpid():  # first commit, or after a fork
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="sqlite-checkpoint",
                                 daemon=True).start()

    def flush(self) -> None:
        """Checkpoint every noted file now (tests; the thread does it on its own)."""
        with self._lock:
            paths, self._pending = self._pending, set()
        for path in sorted(paths):
            try:
                done = checkpoint(path)
            except Exception:  # noqa: BLE001 - never drop a noted file: try it next time
                log.exception("background checkpoint of %s failed", path)
                done = (1, -1, -1)
            # Busy, or readers held part of the log: again next time.
            if done is not None and (done[0] or done[2] < done[1]):
                with self._lock:
                    self._pending.add(path)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("background checkpoint failed")


#: One per process: the thread serves every app (and every test app) of the process.
checkpointer = Checkpointer()


def init_app(app: Flask, engine: Engine) -> None:
    """Move ``engine``'s checkpoints to the background thread (SQLite file databases only)."""
    seconds = float(app.config.get("SQLITE_CHECKPOINT_SECONDS") or 0)
    path = engine.url.database
    if engine.dialect.name != "sqlite" or seconds <= 0 or not path or path == ":memory:":
        return
    background = checkpointer
    background.interval = seconds
    pages = int(app.config.get("SQLITE_CHECKPOINT_PAGES") or 10_000)

    def bound(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={pages}")

    def committed(connection: Any) -> None:
        background.note(path)

    event.listen(engine, "connect", bound)
    event.listen(engine, "commit", committed)
