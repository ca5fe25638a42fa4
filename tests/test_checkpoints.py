"""SQLite's WAL checkpoints run in the background, not in the commit of a user's request."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fieldapp import checkpoints
from fieldapp.extensions import db

PAGE = 4096


def _write_pages(app, pages: int, commits: int) -> None:
    """Commit about ``pages`` pages of new rows in ``commits`` transactions."""
    with app.app_context():
        db.session.execute(db.text("CREATE TABLE IF NOT EXISTS scratch (x BLOB)"))
        db.session.commit()
        for _ in range(commits):
            db.session.execute(db.text("INSERT INTO scratch VALUES (randomblob(:n))"),
                               [{"n": 3000}] * (pages // commits))
            db.session.commit()


def _wal_pages(app) -> int:
    return Path(app.instance_path, "fieldapp.sqlite-wal").stat().st_size // PAGE


def _log_after_one_commit(app) -> int:
    """Pages in the log right after one small commit: small when the log was restarted."""
    _write_pages(app, 1, 1)
    return checkpoints.checkpoint(str(Path(app.instance_path, "fieldapp.sqlite")))[1]


def test_commits_leave_the_log_to_the_background_checkpoint(app_factory, monkeypatch):
    held = checkpoints.Checkpointer(background=False)  # checkpoints only when told to
    monkeypatch.setattr(checkpoints, "checkpointer", held)
    app = app_factory()
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA wal_autocheckpoint")).scalar() == 10_000
        db.session.rollback()

    _write_pages(app, 2400, 8)  # 8 commits of 300 pages: SQLite alone checkpoints at 1,000
    assert _wal_pages(app) >= 2400  # no commit checkpointed: the log kept growing
    path = str(Path(app.instance_path, "fieldapp.sqlite"))
    assert path in held._pending

    held.flush()
    assert held._pending == set()
    assert _log_after_one_commit(app) < 10  # everything was copied: the log started over


def test_without_the_background_checkpoint_commits_checkpoint_as_sqlite_does(app_factory):
    app = app_factory(SQLITE_CHECKPOINT_SECONDS=0)
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA wal_autocheckpoint")).scalar() == 1000
        db.session.rollback()
    _write_pages(app, 2400, 8)
    assert _wal_pages(app) < 1800  # restarted after a commit passed 1,000 pages


def test_the_thread_checkpoints_what_commits_noted(app_factory, monkeypatch):
    quick = checkpoints.Checkpointer(interval=0.05)
    monkeypatch.setattr(checkpoints, "checkpointer", quick)
    done = []
    real = checkpoints.checkpoint

    def spy(path):
        result = real(path)
        done.append(result)
        return result

    monkeypatch.setattr(checkpoints, "checkpoint", spy)
    app = app_factory(SQLITE_CHECKPOINT_SECONDS=0.05)
    _write_pages(app, 600, 2)
    deadline = time.monotonic() + 30  # a loaded CI machine: the thread waits its turn

    def all_folded() -> bool:
        # The thread may run between the two commits: the log then restarts, and the pages
        # of both commits are folded by two checkpoints, not one of 600 pages.
        results = [r for r in done if r and r[1] >= 0]  # not the busy ones (tried again)
        return bool(results) and results[-1][1] == results[-1][2] and (
            results[-1][1] >= 600 or sum(r[2] for r in results) >= 600)

    while not all_folded():
        assert time.monotonic() < deadline, done
        time.sleep(0.02)
    assert _log_after_one_commit(app) < 10


@pytest.mark.parametrize("gone", ["missing.sqlite", "nothing/here.sqlite"])
def test_a_database_file_that_is_gone_is_skipped_and_not_created(tmp_path, gone):
    assert checkpoints.checkpoint(str(tmp_path / gone)) is None
    assert not (tmp_path / gone).exists()


def test_fold_empties_the_log_once_no_reader_holds_it_and_says_when_it_cannot(app_factory):
    import sqlite3

    app = app_factory()
    path = Path(app.instance_path, "fieldapp.sqlite")
    _write_pages(app, 50, 1)
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM scratch").fetchone()  # holds a snapshot of the log
    _write_pages(app, 50, 1)
    with app.app_context():
        db.engine.dispose()
        db.session.execute(db.text("PRAGMA busy_timeout=0"))  # fail fast: the reader stays
        db.session.commit()  # the pool's only connection, which fold takes
        with pytest.raises(RuntimeError, match="could not be checkpointed"):
            checkpoints.fold(db.engine, attempts=2)
        reader.rollback()
        reader.close()
        checkpoints.fold(db.engine)
    assert _wal_pages(app) == 0  # everything is in the database file: a plain copy holds it
    copy = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)  # ignores any log
    assert copy.execute("SELECT count(*) FROM scratch").fetchone()[0] == 2 * 50


@pytest.mark.parametrize("outcome", ["busy", "error", "readers"])
def test_a_checkpoint_that_could_not_finish_is_tried_again(monkeypatch, outcome):
    held = checkpoints.Checkpointer(background=False)

    def attempt(path):
        if outcome == "error":
            raise OSError("disk went away for a moment")
        return (1, -1, -1) if outcome == "busy" else (0, 300, 120)

    monkeypatch.setattr(checkpoints, "checkpoint", attempt)
    held.note("instance/some.sqlite")
    held.flush()
    assert held._pending == {"instance/some.sqlite"}  # noted again, not forgotten
    monkeypatch.setattr(checkpoints, "checkpoint", lambda path: (0, 300, 300))
    held.flush()
    assert held._pending == set()
