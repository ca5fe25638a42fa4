"""Errors of the sync protocol, each with a stable code (the same on both sides of the wire)."""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    """An expected failure of a sync exchange: a stable ``code``, an HTTP status, details."""

    code = "sync_error"
    status = 400
    message = "The sync request could not be processed."
    #: Whether retrying later can succeed without anyone doing something (back-off applies).
    transient = False

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


def _error(code: str, status: int, message: str, transient: bool = False) -> type[SyncError]:
    return type(
        "".join(part.title() for part in code.split("_")),
        (SyncError,),
        {"code": code, "status": status, "message": message, "transient": transient},
    )


ProtocolUnsupported = _error(
    "protocol_unsupported", 426, "This protocol version is not supported by the other side.")
SchemaMismatch = _error(
    "schema_mismatch", 409, "Central and this node run different database versions.")
UnknownNode = _error("unknown_node", 401, "Central does not know this node.")
BadCredential = _error("bad_credential", 401, "The node's credential was refused.")
NodeRevoked = _error("node_revoked", 403, "Central revoked this node's credential.")
EnrolmentRefused = _error(
    "enrolment_refused", 403, "The enrolment code is wrong, used or expired.")
SequenceGap = _error(
    "sequence_gap", 409, "Operations arrived out of order.", transient=True)
SequenceRegressed = _error(
    "sequence_regressed", 409,
    "Central has more of this node's operations than the node itself (restored from a backup?).")
CentralRegressed = _error(
    "central_regressed", 409,
    "Central lost operations of this node that the node no longer keeps (central restored from "
    "an old backup?).")
BadBody = _error("bad_body", 400, "The request body was incomplete or malformed.", transient=True)
TooLarge = _error("too_large", 413, "The request body is too large.")
NotCentral = _error("not_central", 404, "This server is not a central server.")
NotEnrolled = _error("not_enrolled", 400, "This node is not enrolled with a central server.")
Unreachable = _error("unreachable", 503, "Central could not be reached.", transient=True)
BadResponse = _error(
    "bad_response", 502, "Central's answer was incomplete or malformed.", transient=True)
ServerError = _error("server_error", 500, "Central failed to process the request.", transient=True)
Busy = _error("busy", 409, "Another sync is already running on this node.", transient=True)
TLSFailure = _error("tls_failure", 495, "Central's certificate could not be verified.")
UnknownExchange = _error("unknown_exchange", 404, "Central does not answer this exchange.")
# Files moved apart from the records (sync/node/media.py, sync/central/media.py).
MediaOffset = _error("media_offset", 409, "The piece does not start where the upload is.",
                     transient=True)
BadChunk = _error("bad_chunk", 400, "The piece does not match its hash.", transient=True)
BadFile = _error("bad_file", 400, "The file does not match its name.")
MediaNotAllowed = _error("media_not_allowed", 403, "No record of this node names the file.")
MediaMissing = _error("media_missing", 404, "Central does not hold this file.")

BY_CODE: dict[str, type[SyncError]] = {
    cls.code: cls
    for cls in (ProtocolUnsupported, SchemaMismatch, UnknownNode, BadCredential, NodeRevoked,
                EnrolmentRefused, SequenceGap, SequenceRegressed, CentralRegressed, BadBody,
                TooLarge, NotCentral, NotEnrolled, Unreachable, BadResponse, ServerError, Busy,
                TLSFailure, UnknownExchange, MediaOffset, BadChunk, BadFile,
                MediaNotAllowed, MediaMissing)
}


def from_response(status: int, body: dict[str, Any] | None) -> SyncError:
    """The error central answered with (its code), or a generic one for its HTTP status."""
    error = (body or {}).get("error") or {}
    code = error.get("code")
    cls = BY_CODE.get(code) if code else None
    if cls is None:
        cls = ServerError if status >= 500 else BadResponse
        exc = cls(error.get("message") or f"HTTP {status}", status=status, code=code)
        return exc
    return cls(error.get("message"), **(error.get("details") or {}))


class SimulatedCrash(Exception):  # noqa: N818 - a crash, not an error to handle
    """Raised at a fault-injection point (tests): the process 'dies' there."""


def db_error_code(error: Exception) -> tuple[str, str]:
    """A stable code and a one-line reason for a database refusal."""
    text = str(getattr(error, "orig", error)).strip().splitlines()[0][:300]
    low = text.lower()
    if "unique" in low or "duplicate key" in low:
        return "duplicate_key", text
    if "foreign key" in low:
        return "missing_parent", text
    return "invalid", text
