"""Taking and restoring a backup of an installation: its database and its instance files.

A field node's state is its SQLite database plus a few instance files: ``secret_key`` (sessions),
``node.json`` (the node's id and code, which every record code embeds), ``sync.json`` (its sync
credential; without it the node must be enrolled again) and ``config.py``. A backup is a folder
(or a ``.tar``/``.tar.gz`` of that folder) holding copies of them, every file mode 0600, and
``backup.json`` (what it holds, the schema revision, each file's original mode).

The SQLite copy is taken with SQLite's online backup API, consistent while the app and the sync
loop keep writing; a plain file copy of a WAL database is not. Central on PostgreSQL is dumped
with ``pg_dump`` (custom format) and restored with ``pg_restore``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

#: Instance files a backup carries when they exist (the database is handled apart).
INSTANCE_FILES = ("secret_key", "node.json", "sync.json", "config.py")
SQLITE_FILE = "fieldapp.sqlite"
#: The folder of photos and scans in a backup (``media/ab/cd/<sha256>``, as in the store).
MEDIA_DIR = "media"
MEDIA_NAME = re.compile(r"^[0-9a-f]{64}$")
PG_DUMP_FILE = "central.pgdump"
MANIFEST = "backup.json"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
#: Seconds a dump or a restore of central's database may take.
PG_TIMEOUT = 6 * 3600


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message tells the operator why."""


@dataclass
class BackupSummary:
    """What a backup holds, or what a restore put back."""

    path: Path
    database: str
    revision: str | None
    files: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


# -- backup ------------------------------------------------------------------------------------
def back_up(engine: Engine, instance: Path, dest: Path, version: str,
            media: Path | None = None) -> BackupSummary:
    """Write a backup of ``engine``'s database, the instance files and the photos and scans
    (``media``, the content-addressed folder) to ``dest``.

    :param dest: a new (or empty) folder, or a file ending in ``.tar``, ``.tar.gz`` or ``.tgz``.
    :raises BackupError: ``dest`` is taken, a tool is missing or the copy fails.
    """
    as_tar = dest.name.endswith(TAR_SUFFIXES)
    if as_tar and dest.exists():
        raise BackupError(f"{dest} exists; choose a new file name")
    if not as_tar and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty folder; choose a new one")
    if as_tar:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fieldapp-backup-") as tmp:
            summary = _write_folder(engine, instance, Path(tmp), version, media)
            _tar_folder(Path(tmp), dest)
        summary.path = dest
        return summary
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.chmod(0o700)  # an empty folder given by the operator, too
    return _write_folder(engine, instance, dest, version, media)


def _write_folder(engine: Engine, instance: Path, folder: Path, version: str,
                  media: Path | None = None) -> BackupSummary:
    kind = engine.dialect.name
    revision = schema_revision(engine)
    if kind == "sqlite":
        _sqlite_copy(_sqlite_path(engine), folder / SQLITE_FILE)
        files = [SQLITE_FILE]
    elif kind == "postgresql":
        _pg_run("pg_dump", engine.url, ["--format=custom", f"--file={folder / PG_DUMP_FILE}"])
        (folder / PG_DUMP_FILE).chmod(0o600)
        files = [PG_DUMP_FILE]
    else:
        raise BackupError(f"no backup for a {kind} database")
    modes = {}
    for name in INSTANCE_FILES:
        source = instance / name
        if source.is_file():
            modes[name] = f"{source.stat().st_mode & 0o777:04o}"
            _write_private(folder / name, source.read_bytes())
            files.append(name)
    media_files = _copy_media(media, folder / MEDIA_DIR) if media is not None else 0
    if media_files:
        files.append(f"{MEDIA_DIR}/ ({media_files} files)")
    manifest = {"fieldapp": version, "created_at": datetime.now(UTC).isoformat(),
                "database": kind, "revision": revision, "modes": modes, "files": files,
                "media": media_files}
    _write_private(folder / MANIFEST, json.dumps(manifest, indent=2).encode())
    return BackupSummary(folder, kind, revision, files)


def _media_files(root: Path) -> Iterator[tuple[str, Path]]:
    """The files of a media folder as ``(name, path)``: ``ab/cd/<sha256>`` only."""
    if root.is_dir():
        for path in sorted(root.glob("??/??/*")):
            if path.is_file() and MEDIA_NAME.match(path.name) and path.name.startswith(
                    path.parent.parent.name + path.parent.name):
                yield path.relative_to(root).as_posix(), path


def _copy_media(source: Path, target: Path) -> int:
    """Copy the photos and scans into the backup; their number. Taken after the database, so
    every row the backup holds finds its file (files are never removed while the app runs)."""
    count = 0
    for name, path in _media_files(source):
        copy = target / name
        copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(copy, path.read_bytes())
        count += 1
    return count


def _restore_media(source: Path, target: Path) -> int:
    """Put the backup's photos and scans back (each checked against its name)."""
    count = 0
    for name, path in _media_files(source):
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != path.name:
            raise BackupError(f"the backup's {MEDIA_DIR}/{name} is damaged (its hash differs)")
        (target / name).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_file(target / name, data, 0o600)
        count += 1
    return count


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API into one self-contained file."""
    if not source.is_file():
        raise BackupError(f"the database {source} does not exist")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, no -wal beside it
    except sqlite3.Error as error:
        raise BackupError(f"the database could not be copied: {error}") from error
    finally:
        dst.close()
        src.close()


def _tar_folder(folder: Path, dest: Path) -> None:
    mode = "w:gz" if dest.name.endswith((".gz", ".tgz")) else "w"
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode=mode) as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)


# -- restore -----------------------------------------------------------------------------------
def restore(engine: Engine, instance: Path, src: Path, force: bool = False,
            media: Path | None = None) -> BackupSummary:
    """Put back the database and the instance files of the backup at ``src``.

    The app and the sync loop must be stopped. Files the backup does not hold (``config.py``
    written since, say) are kept as they are.

    :param force: replace an instance that holds data (users, families, an enrolment).
    :raises BackupError: the backup is unreadable or of another database kind, the instance
        holds data and ``force`` is not given, or the database is in use.
    """
    with _opened(src) as folder:
        manifest = _manifest(folder)
        kind = engine.dialect.name
        if manifest.get("database") != kind:
            raise BackupError(f"this backup holds a {manifest.get('database')} database; "
                              f"this installation uses {kind}")
        if not force:
            held = holds_data(engine, instance)
            if held:
                raise BackupError(f"this installation already holds data ({held}); stop the "
                                  "app and the sync loop, then restore with --force to replace it")
        engine.dispose()  # this process's own connections
        if kind == "sqlite":
            _sqlite_restore(folder / SQLITE_FILE, _sqlite_path(engine))
        else:
            _pg_run("pg_restore", engine.url, ["--clean", "--if-exists", "--no-owner",
                                               "--single-transaction", str(folder / PG_DUMP_FILE)])
        restored, kept = [], []
        modes = manifest.get("modes", {})
        for name in INSTANCE_FILES:
            if (folder / name).is_file():
                mode = int(modes.get(name, "0600"), 8) & 0o777
                _write_file(instance / name, (folder / name).read_bytes(), mode)
                restored.append(name)
            elif (instance / name).exists():
                kept.append(name)
        if media is not None and (folder / MEDIA_DIR).is_dir():
            restored.append(f"{MEDIA_DIR}/ ({_restore_media(folder / MEDIA_DIR, media)} files)")
        return BackupSummary(src, kind, manifest.get("revision"), restored, kept)


def holds_data(engine: Engine, instance: Path) -> str:
    """What makes this installation worth keeping ("3 users, 120 families, enrolled"), or
    ``""`` for a new, empty one (the schema alone, as the first start creates it)."""
    found = []
    with engine.connect() as connection:
        for table, label in (("users", "users"), ("families", "families")):
            try:
                count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 - fixed names
            except Exception:  # noqa: BLE001 - no such table yet: nothing there
                connection.rollback()
                count = 0
            if count:
                found.append(f"{count} {label}")
    if (instance / "sync.json").exists():
        found.append("enrolled with central")
    return ", ".join(found)


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    if not backup_file.is_file():
        raise BackupError(f"the backup has no {SQLITE_FILE}")
    if target.exists() and database_in_use(target):
        raise BackupError(f"the database {target} is in use: stop the app and the sync loop "
                          "first")
    from fieldapp.checkpoints import checkpointer

    checkpointer.flush()  # nothing of this process may checkpoint the old file afterwards
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, backup_file.open("rb") as source:
        shutil.copyfileobj(source, out)
        out.flush()
        os.fsync(out.fileno())
    # A log left beside the old file would be replayed onto the restored one.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, target)


def database_in_use(path: Path, attempts: int = 20) -> bool:
    """``True`` when another connection keeps the SQLite file open (the app, the sync loop): in
    WAL mode an open connection holds a shared lock that an exclusive one cannot pass. A
    checkpoint (of this process's background thread, say) holds it for a moment only, so the
    lock is tried for about a second before the file is called in use."""
    for attempt in range(attempts):
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0, isolation_level=None)
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            if attempt + 1 < attempts:
                time.sleep(0.05)
        finally:
            conn.close()
    return True


def _media_member(name: str, folder: bool = False) -> bool:
    """Whether a tar member's name is the media folder, one of its two levels, or a file
    ``media/ab/cd/<sha256>`` (nothing else: no ``..``, no absolute path)."""
    parts = name.split("/")
    if parts[0] != MEDIA_DIR or any(p in ("", ".", "..") for p in parts):
        return False
    if folder:
        return len(parts) <= 3 and all(len(p) == 2 for p in parts[1:])
    return (len(parts) == 4 and MEDIA_NAME.match(parts[3]) is not None
            and parts[3].startswith(parts[1] + parts[2]))


@contextmanager
def _opened(src: Path) -> Iterator[Path]:
    """The backup as a folder: ``src`` itself, or a tar unpacked (plain files only) into a
    private temporary folder."""
    if src.is_dir():
        yield src
        return
    if not src.is_file():
        raise BackupError(f"no backup at {src}")
    allowed = {MANIFEST, SQLITE_FILE, PG_DUMP_FILE, *INSTANCE_FILES}
    with tempfile.TemporaryDirectory(prefix="fieldapp-restore-") as tmp:
        try:
            with tarfile.open(src) as tar:
                for member in tar.getmembers():
                    if member.isdir() and _media_member(member.name, folder=True):
                        continue
                    if not member.isfile() or (member.name not in allowed
                                               and not _media_member(member.name)):
                        raise BackupError(f"{src} holds {member.name!r}, not part of a backup")
                    source = tar.extractfile(member) or io.BytesIO()
                    (Path(tmp) / member.name).parent.mkdir(mode=0o700, parents=True,
                                                          exist_ok=True)
                    fd = os.open(Path(tmp) / member.name, os.O_WRONLY | os.O_CREAT, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        shutil.copyfileobj(source, out)
        except tarfile.TarError as error:
            raise BackupError(f"{src} is not a readable backup: {error}") from error
        yield Path(tmp)


def _manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} is not a fieldapp backup (no readable {MANIFEST})") from error


# -- shared ------------------------------------------------------------------------------------
def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (``None``: not migrated)."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
            return None


def _sqlite_path(engine: Engine) -> Path:
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("the database is not a file")
    return Path(path)


def _pg_run(tool: str, url: URL, args: list[str]) -> None:
    """Run ``pg_dump``/``pg_restore`` on the database at ``url`` (password through the
    environment, never on the command line that ``ps`` shows)."""
    program = shutil.which(tool)
    if program is None:
        raise BackupError(f"{tool} is not installed: install PostgreSQL's client tools "
                          "(the server's major version or newer), e.g. postgresql-client")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tool, arguments built here
            [program, *args, f"--dbname={target}"], env=env, check=False,
            capture_output=True, text=True, timeout=PG_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise BackupError(f"{tool} did not finish within {PG_TIMEOUT} s") from error
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip() or done.returncode}")


def _write_private(path: Path, data: bytes) -> None:
    _write_file(path, data, 0o600)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` atomically, created with ``mode`` (never readable by others in between)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
