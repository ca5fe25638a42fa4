"""The node's side of moving files (photos, scans) apart from the records.

After a sync's records are pushed and pulled, the node sends central the files its records
name that central lacks and wants (asked first: a file central has is never sent again; one of
a kind central takes on demand waits here until a coordinator asks for it), in pieces, each
resumed where central's partial upload ends; then it fetches the files its records name that it
lacks itself (those of its scope that other nodes sent), likewise resumed from its own partial
download. A failure here is reported and the records stay synced: the next sync goes on from
where this one stopped (see ``sync/central/media.py`` for the wire).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from sync import errors
from sync.node.transport import Transport
from sync.state import AppState

log = logging.getLogger(__name__)

#: Hashes asked about per ``have`` request (central's limit).
HAVE_BATCH = 1000
#: Times one piece is tried again after central answers another offset.
OFFSET_RETRIES = 3


@dataclass
class MediaReport:
    """What one transfer of files did."""

    sent: int = 0
    sent_bytes: int = 0
    fetched: int = 0
    fetched_bytes: int = 0
    #: Files this node's records name that are still missing here (central lacks them too).
    missing: int = 0
    #: Files central lacks but does not want yet (taken on demand): kept here, offered again.
    deferred: int = 0
    error_code: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def transfer(state: AppState, transport: Transport) -> MediaReport:
    """Send what central lacks, fetch what this node lacks; never raises a sync error (it is
    reported: the records' sync already succeeded)."""
    report = MediaReport()
    media = state.media
    if media is None:
        return report
    try:
        media.sweep_partials()  # the pieces of downloads abandoned long ago
        try:
            hashes = list(dict.fromkeys(media.node_hashes(state.session)))
        finally:
            state.session.rollback()
        here = [h for h in hashes if media.store.has(h)]
        absent = [h for h in hashes if not media.store.has(h)]
        for start in range(0, len(here), HAVE_BATCH):
            asked = set(here[start:start + HAVE_BATCH])
            answer = transport.post("/media/have", {"hashes": here[start:start + HAVE_BATCH]})
            missing, deferred = _checked_have(answer, asked)
            # Only what central holds is confirmed: a deferred file is offered again next time
            # (and never pruned here).
            _confirm(state, [h for h in asked if h not in missing and h not in deferred])
            report.deferred += len(deferred)
            for sha256, offset in missing.items():
                send_file(state, transport, sha256, offset, report)
                report.sent += 1
                _confirm(state, [sha256])
        for sha256 in absent:
            try:
                fetch_file(state, transport, sha256, report)
                report.fetched += 1
            except (errors.MediaMissing, errors.MediaNotAllowed):
                report.missing += 1  # not on central yet either (its node has not sent it)
    except errors.SyncError as error:
        report.error_code, report.error = error.code, error.message
        log.warning("files not moved: %s %s", error.code, error.message)
    except OSError as error:  # the disk
        report.error_code, report.error = "media_disk", str(error)
        log.warning("files not moved: %s", error)
    except SQLAlchemyError as error:  # the database (busy, locked): tried again next sync
        state.session.rollback()
        report.error_code, report.error = "media_database", str(error).splitlines()[0]
        log.warning("files not moved: %s", report.error)
    return report


def _checked_have(answer: dict[str, Any], asked: set[str]) -> tuple[dict[str, int], set[str]]:
    """Central's answer to ``have``: the files it wants with their offsets, and those it does
    not want yet (``BadResponse`` when either is malformed or names a file not asked about)."""
    missing = answer.get("missing")
    deferred = answer.get("deferred", [])
    if not isinstance(missing, dict):
        raise errors.BadResponse("have: no missing map")
    if not isinstance(deferred, list) or not all(isinstance(h, str) for h in deferred) or (
            not set(deferred) <= asked):
        raise errors.BadResponse("have: a bad deferred list")
    for sha256, offset in missing.items():
        if (sha256 not in asked or not isinstance(offset, int)
                or isinstance(offset, bool) or offset < 0):
            raise errors.BadResponse("have: a bad offset")
    return missing, set(deferred)


def _confirm(state: AppState, hashes: list[str]) -> None:
    """Remember the files central holds (not asked about again)."""
    media = state.media
    if not hashes or media is None or media.confirmed is None:
        return
    try:
        media.confirmed(state.session, hashes)
        state.session.commit()
    except Exception:
        state.session.rollback()
        raise


def send_file(state: AppState, transport: Transport, sha256: str, offset: int,
              report: MediaReport) -> None:
    """Send the file from ``offset`` (what central holds already), piece by piece (counted in
    ``report.sent_bytes`` as central confirms each)."""
    media = state.media
    assert media is not None
    source = media.store.open(sha256)
    if source is None:
        return
    retries = 0
    with source:
        size = os.fstat(source.fileno()).st_size
        while offset < size:
            source.seek(offset)
            piece = source.read(media.chunk_bytes)
            state.fault("media.before_chunk")
            headers = {"Content-Type": "application/octet-stream", "X-Media-Hash": sha256,
                       "X-Media-Offset": str(offset), "X-Media-Size": str(size),
                       "X-Chunk-Sha256": hashlib.sha256(piece).hexdigest()}
            try:
                answer = transport.send("/media/chunk", piece, headers)
            except errors.MediaOffset as error:
                retries += 1
                expected = error.details.get("expected")
                if retries > OFFSET_RETRIES or not isinstance(expected, int):
                    raise
                offset = expected
                continue
            report.sent_bytes += len(piece)
            if answer.get("done") is True:
                break
            new = answer.get("offset")
            if not isinstance(new, int) or new <= offset:
                raise errors.BadResponse("chunk: central's offset did not move on")
            offset = new


def fetch_file(state: AppState, transport: Transport, sha256: str,
               report: MediaReport) -> None:
    """Fetch the file from central, resumed from this node's partial download (counted in
    ``report.fetched_bytes``). A file that does not hash to its name is dropped (fetched
    again next time)."""
    media = state.media
    assert media is not None
    part = media.partial_folder / f"{sha256}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    while True:
        state.fault("media.before_fetch")
        piece, headers = transport.fetch_bytes("/media/fetch", {"hash": sha256, "offset": offset})
        size = int(headers.get("x-media-size", "-1"))
        if hashlib.sha256(piece).hexdigest() != headers.get("x-chunk-sha256") or size < 0:
            raise errors.BadChunk()
        if offset + len(piece) > size or (not piece and offset < size):
            part.unlink(missing_ok=True)
            raise errors.BadResponse("fetch: the pieces run past the file")
        with open(part, "ab") as out:
            out.write(piece)
        offset += len(piece)
        report.fetched_bytes += len(piece)
        if offset == size:
            break
    try:
        media.store.put_file(Path(part), sha256)
    except ValueError:
        part.unlink(missing_ok=True)
        raise errors.BadFile() from None
