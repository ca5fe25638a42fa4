"""Where attachment bytes live: one small interface, a content-addressed local folder by default.

A file is named by the SHA-256 of its bytes (``ab/cd/abcd...``): the same photo stored twice is
one file, and a file replaced behind the app's back is found out on every read (its bytes no
longer hash to its name). Central may later put its media on shared or object storage behind the
same interface (:class:`MediaStorage`): ``has``, ``read``, ``put``, ``put_file``, ``remove``,
``hashes``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

#: A SHA-256 as the app writes it: 64 lowercase hex digits.
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class Damaged(ValueError):
    """Stored bytes that no longer hash to their name (replaced or corrupted on disk)."""


def sha256_of(data: bytes) -> str:
    """The SHA-256 of ``data``, as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def is_hash(value: object) -> bool:
    """Whether ``value`` is a SHA-256 as the app writes it."""
    return isinstance(value, str) and bool(HASH_PATTERN.match(value))


class MediaStorage(Protocol):
    """What the app needs of a media store."""

    def has(self, sha256: str) -> bool:
        """Whether bytes named ``sha256`` are stored (not checked against their hash)."""

    def read(self, sha256: str) -> bytes | None:
        """The bytes named ``sha256``, checked against it; ``None`` when not stored.

        :raises Damaged: the stored bytes do not hash to ``sha256``.
        """

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: the same bytes again are not written twice); its hash."""

    def put_file(self, path: Path, sha256: str) -> None:
        """Move the finished file ``path`` into the store under ``sha256`` (checked).

        :raises Damaged: the file's bytes do not hash to ``sha256`` (the file is removed).
        """

    def open(self, sha256: str) -> BinaryIO | None:
        """The stored file opened for reading (unchecked), ``None`` when not stored."""

    def remove(self, sha256: str) -> None:
        """Forget the bytes named ``sha256`` (nothing happens when none are stored)."""

    def hashes(self) -> Iterator[str]:
        """The names of every stored file."""

    def size(self, sha256: str) -> int | None:
        """The size of the stored bytes, ``None`` when not stored."""

    def usage(self) -> int:
        """The bytes of every stored file together."""

    def free_bytes(self) -> int | None:
        """The room left where the files are written (``None`` when it cannot be told)."""

    def sweep(self, max_age_s: float) -> int:
        """Remove the temporary files of writes that never finished (a process killed
        mid-write) older than ``max_age_s``; how many."""


class LocalStorage:
    """A content-addressed folder: ``<root>/ab/cd/<sha256>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        if not is_hash(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return is_hash(sha256) and self.path_of(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size if is_hash(sha256) else None
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO | None:
        """The stored file opened for reading (not checked: the reader checks the hash)."""
        try:
            return self.path_of(sha256).open("rb") if is_hash(sha256) else None
        except FileNotFoundError:
            return None

    def read(self, sha256: str) -> bytes | None:
        if not is_hash(sha256):
            return None
        try:
            data = self.path_of(sha256).read_bytes()
        except FileNotFoundError:
            return None
        if sha256_of(data) != sha256:
            raise Damaged(sha256)
        return data

    def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        if self.has(sha256) and self.size(sha256) == len(data):
            return sha256
        target = self.path_of(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def put_file(self, path: Path, sha256: str) -> None:
        digest = hashlib.sha256()
        with open(path, "rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha256:
            Path(path).unlink(missing_ok=True)
            raise Damaged(sha256)
        target = self.path_of(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

    def remove(self, sha256: str) -> None:
        if is_hash(sha256):
            self.path_of(sha256).unlink(missing_ok=True)

    def usage(self) -> int:
        total = 0
        if not self.root.is_dir():
            return total
        for path in self.root.glob("??/??/*"):
            try:
                if is_hash(path.name):
                    total += path.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def free_bytes(self) -> int | None:
        import shutil

        folder = self.root
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # not made yet: the disk it will be made on
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            return None

    def sweep(self, max_age_s: float) -> int:
        import time

        removed = 0
        if not self.root.is_dir():
            return removed
        now = time.time()
        for path in self.root.glob("??/??/.incoming-*"):
            try:
                if now - path.stat().st_mtime >= max_age_s:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # finished meanwhile
        return removed

    def hashes(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("??/??/*")):
            if path.is_file() and is_hash(path.name):
                yield path.name


def media_folder(app_config: dict, instance_path: str) -> Path:
    """The media folder: ``MEDIA_FOLDER`` or ``<instance>/media``."""
    configured = app_config.get("MEDIA_FOLDER")
    return Path(configured) if configured else Path(instance_path) / "media"


def current_storage() -> MediaStorage:
    """The running app's media store (made once per app)."""
    from flask import current_app

    store = current_app.extensions.get("fieldapp.media")
    if store is None:
        store = LocalStorage(media_folder(current_app.config, current_app.instance_path))
        current_app.extensions["fieldapp.media"] = store
    return store
