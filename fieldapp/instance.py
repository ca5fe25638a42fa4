"""This installation's own identity, kept in the instance folder.

Generated on first start and never shipped: the secret key that signs sessions, and the node id
and short code that make records and codes unique across offline nodes. The folder also holds a
node's database (DNI, phones, plot locations, password hashes): it and everything in it are for
the app's own user only (folder 0700, files 0600), see :func:`secure_instance`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import uuid
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600

#: Letters and digits that cannot be mistaken for one another when read aloud or printed, and
#: that never spell a word: no vowels (nor Y), and no 3 or 4 (read as E and A). Node codes are
#: printed on public verification pages and donors' PDFs; a random "GAY" or "P3D0" must not be.
#: Codes issued before (``K7Q``, ``AGV``) stay valid: only new codes are drawn from here.
CODE_ALPHABET = "CDFGHJKMNPQRTVWX679"


def private_tmp(path: Path) -> Path:
    """A temporary name beside ``path`` that no other process or thread uses at once (workers
    of one server start together on a new instance folder)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _write_private(path: Path, text: str, first: bool = False) -> None:
    """Write ``text`` to ``path`` readable by the owner only (created atomically).

    ``first``: only if ``path`` does not exist yet; when another process created it first, its
    content stays (the caller reads it back), so workers starting together agree on it.
    """
    tmp = private_tmp(path)
    with os.fdopen(open_private(tmp), "w") as fh:
        fh.write(text)
    if not first:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if the file exists: never replaces what another wrote
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def make_private_dirs(path: Path) -> None:
    """``mkdir -p`` with every folder it creates 0700 (``Path.mkdir`` gives parents 0755)."""
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(mode=FOLDER_MODE, exist_ok=True)


def open_private(path: Path) -> int:
    """A new (or truncated) file descriptor for ``path``, the file readable by its owner only."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)


def load_secret_key(instance_path: Path) -> str:
    """The session-signing key, generated into ``instance/secret_key`` on first start."""
    path = instance_path / "secret_key"
    if not path.exists():
        _write_private(path, secrets.token_hex(32), first=True)
    return path.read_text().strip()


def new_node_code(length: int = 3) -> str:
    """A short random node code such as ``K7Q``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def load_node_identity(instance_path: Path) -> dict[str, str]:
    """``{"node_id", "node_code"}`` of this installation, generated on first start."""
    path = instance_path / "node.json"
    if path.exists():
        return json.loads(path.read_text())
    identity = {"node_id": str(uuid.uuid4()), "node_code": new_node_code()}
    _write_private(path, json.dumps(identity, indent=2), first=True)
    return json.loads(path.read_text())  # ours, or that of a worker which started first


def save_node_identity(instance_path: Path, identity: dict[str, str]) -> None:
    """Persist a changed identity (e.g. the code central assigned at enrolment)."""
    _write_private(instance_path / "node.json", json.dumps(identity, indent=2))


def secure_instance(instance_path: Path, database: Path | None, logger: logging.Logger) -> None:
    """Make the instance folder and everything in it private to the app's user.

    The folder (and its sub-folders) become 0700 and its files 0600; each change is logged, as
    it means an older installation (or an operator's copy) left them open. The SQLite database
    file is created empty with 0600 before SQLite opens it: SQLite creates a database with the
    process's umask (0644 by default) and gives its ``-wal`` and ``-shm`` files the mode of the
    main file, so a private main file keeps them private too.

    :param database: the SQLite database file, when the database is one (it may lie elsewhere).
    """
    instance_path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    paths = [instance_path, *sorted(instance_path.rglob("*"))]
    if database is not None:
        if not database.exists():
            make_private_dirs(database.parent)
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        paths += [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")]
    for path in dict.fromkeys(paths):
        _tighten(path, logger)


def _tighten(path: Path, logger: logging.Logger) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return  # the target is not ours to change
    wanted = FOLDER_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
    mode = stat.S_IMODE(info.st_mode)
    if mode & ~wanted:
        path.chmod(mode & wanted)
        logger.warning("instance: %s was mode %o, now %o (private to the app's user)",
                       path, mode, mode & wanted)
