"""Central's side of moving files (photos, scans) apart from the records: ``/sync/v1/media``.

A node's records travel in the op-log; the files they name by SHA-256 travel here, after the
records, in pieces (``MEDIA_CHUNK_BYTES``, 256 KiB by default):

- ``POST /media/have {"hashes": [...]}``: which of these central lacks and wants now, each
  with the bytes of it central already holds from an interrupted upload
  (``{"missing": {hash: offset}, "deferred": [hash, ...]}``). A file central has is never sent
  again. A file central lacks but does not want yet (its kind is not taken eagerly and no
  coordinator asked for it, ``MediaHooks.wanted``) is ``deferred``: the node keeps it and
  offers it again at its next sync.
- ``POST /media/chunk`` (the piece as the body; ``X-Media-Hash``, ``X-Media-Offset``,
  ``X-Media-Size``, ``X-Chunk-Sha256``): a piece appended to the partial upload when it starts
  where that ends (else ``409 media_offset`` with ``details.expected``) and hashes to what its
  header says (else ``400 bad_chunk``, nothing kept). The last piece moves the whole file into
  the store once it hashes to its name (else ``400 bad_file``, the partial upload dropped).
- ``POST /media/fetch {"hash", "offset"}``: a piece of a file to a node (raw bytes;
  ``X-Media-Size``, ``X-Chunk-Sha256``).

A node may send or fetch only a file that a record of its scope names (``MediaHooks.allowed``):
central never stores bytes no record asked for, and never sends a node another community's.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from sync import errors
from sync.central.intake import credential, read_body, read_json, small_limit, whole_number
from sync.state import AppState, MediaHooks, NodeInfo, current_state

bp = Blueprint("sync_media", __name__, url_prefix="/sync/v1/media")

#: Hashes one ``have`` request may ask about.
HAVE_MAX = 1000
_HEX = frozenset("0123456789abcdef")



def is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def _context() -> tuple[AppState, MediaHooks, NodeInfo]:
    state = current_state()
    if state is None or state.role != "central" or state.media is None:
        raise errors.NotCentral()
    ident, secret = credential()
    assert state.directory is not None
    node = state.directory.authenticate(state.session, ident, secret)
    return state, state.media, node


def partial_path(media: MediaHooks, sha256: str) -> Path:
    return media.partial_folder / f"{sha256}.part"


def _respond(payload: dict[str, Any], status: int = 200) -> Response:
    from sync.central.server import respond

    return respond(payload, status)


@bp.errorhandler(errors.SyncError)
def media_error(error: errors.SyncError) -> Response:
    state = current_state()
    if state is not None:
        state.session.rollback()
    return _respond(error.to_dict(), error.status)


@bp.after_request
def _close_session(response: Response) -> Response:
    state = current_state()
    if state is not None:
        state.session.rollback()
    return response


@bp.route("/have", methods=["POST"])
def have() -> Response:
    """Which of the node's files central lacks, with what it holds of each already."""
    state, media, node = _context()
    media.sweep_partials_due()  # uploads abandoned long ago (central has no loop of its own)
    body = read_json(max(small_limit(state), HAVE_MAX * 80))
    hashes = body.get("hashes") if isinstance(body, dict) else None
    if not isinstance(hashes, list) or len(hashes) > HAVE_MAX or not all(map(is_hash, hashes)):
        raise errors.BadBody(f"hashes: a list of at most {HAVE_MAX} SHA-256s", field="hashes")
    lacking = [h for h in dict.fromkeys(hashes) if not media.store.has(h)]
    wanted = (set(lacking) if media.wanted is None or not lacking
              else media.wanted(state.session, node, lacking))
    missing, deferred = {}, []
    for sha256 in lacking:
        if sha256 not in wanted:
            deferred.append(sha256)
            continue
        part = partial_path(media, sha256)
        missing[sha256] = part.stat().st_size if part.exists() else 0
    return _respond({"missing": missing, "deferred": deferred})


def _header_number(name: str, high: int) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit() or len(raw) > 12 or int(raw) > high:
        raise errors.BadBody(f"{name}: a whole number up to {high}", field=name)
    return int(raw)


@bp.route("/chunk", methods=["POST"])
def chunk() -> Response:
    """Append a piece of a file to its partial upload; the last one stores the file."""
    state, media, node = _context()
    sha256 = request.headers.get("X-Media-Hash", "")
    piece_hash = request.headers.get("X-Chunk-Sha256", "")
    if not is_hash(sha256) or not is_hash(piece_hash):
        raise errors.BadBody("X-Media-Hash and X-Chunk-Sha256: SHA-256s", field="X-Media-Hash")
    size = _header_number("X-Media-Size", media.max_bytes)
    offset = _header_number("X-Media-Offset", size)
    if size == 0:
        raise errors.BadBody("X-Media-Size: an empty file is not moved", field="X-Media-Size")
    if media.store.has(sha256):  # sent twice (a lost answer): already whole
        return _respond({"offset": size, "done": True})
    if not media.allowed(state.session, node, sha256):
        raise errors.MediaNotAllowed()
    piece = read_body(media.chunk_bytes)
    if hashlib.sha256(piece).hexdigest() != piece_hash:
        raise errors.BadChunk()
    if not piece or offset + len(piece) > size:
        raise errors.BadBody("The piece runs past the file's size.")
    part = partial_path(media, sha256)
    part.parent.mkdir(parents=True, exist_ok=True)
    done = offset + len(piece) == size
    with open(part, "ab") as out:
        # One writer at a time (two nodes may send the same photo): the offset is checked
        # under the lock.
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        held = os.fstat(out.fileno()).st_size
        if offset != held:
            raise errors.MediaOffset(expected=held)
        out.write(piece)
        out.flush()
        if done:  # on disk before it is named; a partial lost in a crash is only sent again
            os.fsync(out.fileno())
    state.fault("media_after_chunk")
    if done:
        try:
            media.store.put_file(part, sha256)
        except ValueError:
            part.unlink(missing_ok=True)
            raise errors.BadFile() from None
    return _respond({"offset": offset + len(piece), "done": done})


@bp.route("/fetch", methods=["POST"])
def fetch() -> Response:
    """A piece of a file a record of the node's scope names."""
    state, media, node = _context()
    body = read_json(small_limit(state))
    sha256 = body.get("hash") if isinstance(body, dict) else None
    if not is_hash(sha256):
        raise errors.BadBody("hash: a SHA-256", field="hash")
    offset = whole_number(body, "offset", default=0, high=media.max_bytes) or 0
    if not media.allowed(state.session, node, sha256):
        raise errors.MediaNotAllowed()
    source = media.store.open(sha256)
    if source is None:
        raise errors.MediaMissing()
    with source:
        size = os.fstat(source.fileno()).st_size
        if offset > size:
            raise errors.BadBody("offset: past the file's end", field="offset")
        source.seek(offset)
        piece = source.read(media.chunk_bytes)
    response = Response(piece, mimetype="application/octet-stream")
    response.headers["X-Media-Size"] = str(size)
    response.headers["X-Chunk-Sha256"] = hashlib.sha256(piece).hexdigest()
    return response
