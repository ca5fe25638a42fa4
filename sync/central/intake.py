"""What central accepts of a ``/sync/v1`` request before it acts on it: a node credential of the
right shape, a body within its route's limit, JSON nested a few levels at most, and numbers a
column holds.

Anyone can reach these routes, so the order matters: the credential comes in a header and is
checked before a byte of the body is read (an unauthenticated request costs central a header);
the body's declared length is checked before it is read, and gzip is inflated only up to the
limit. Every refusal is a :class:`sync.errors.SyncError` with its stable code, never a 500.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import request

from sync import errors, wire
from sync.state import AppState
from sync.storage.codec import INT_MAX

#: Bytes read from the request stream at a time.
CHUNK = 64 * 1024

#: A node's secret is 43 characters (``secrets.token_urlsafe(32)``): a longer one is not
#: hashed to find out.
SECRET_MAX = 256


def credential() -> tuple[uuid.UUID, str]:
    """The node id and secret of the ``Authorization: Node <id>:<secret>`` header.

    :raises sync.errors.UnknownNode: no such header, or not of that shape (401).
    """
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    node_id, _, secret = value.partition(":")
    if scheme != "Node" or not secret:
        raise errors.UnknownNode("The request carries no node credential.")
    if len(secret) > SECRET_MAX or len(node_id) > 45:  # a UUID's longest spelling: urn:uuid:…
        raise errors.UnknownNode("The node credential is not of the right shape.")
    try:
        return uuid.UUID(node_id), secret
    except ValueError as error:
        raise errors.UnknownNode() from error


def small_limit(state: AppState) -> int:
    """The body limit of enrolment, handshake and pull (their bodies are a few hundred bytes)."""
    return int(state.config("SYNC_MAX_SMALL_BODY"))


def read_body(limit: int) -> bytes:
    """The request body, inflated when gzip, of at most ``limit`` bytes either way.

    A declared length past the limit is refused before anything is read; a body sent without
    one is read up to the limit and refused past it; gzip is inflated up to ``limit + 1``
    bytes and no further (:func:`sync.wire.gunzip`), so a request never makes central hold
    more than about twice its limit.

    :raises sync.errors.TooLarge: past the limit (413).
    :raises sync.errors.BadBody: a damaged or truncated gzip body (400).
    """
    length = request.content_length
    if length is not None and length > limit:
        raise errors.TooLarge(f"The request body is larger than {limit} bytes.", limit=limit)
    stream = request.stream
    parts = []
    size = 0
    while size <= limit:
        part = stream.read(min(CHUNK, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        raise errors.TooLarge(f"The request body is larger than {limit} bytes.", limit=limit)
    raw = parts[0] if len(parts) == 1 else b"".join(parts)
    if request.headers.get("Content-Encoding", "").lower() != "gzip":
        return raw
    try:
        body, whole = wire.gunzip(raw, limit)
    except wire.error as error:
        raise errors.BadBody("The gzip body is damaged.") from error
    if len(body) > limit:
        raise errors.TooLarge(f"The request body inflates to more than {limit} bytes.",
                              limit=limit)
    if not whole:
        raise errors.BadBody("The gzip body is incomplete.")
    return body


def read_json(limit: int) -> dict[str, Any]:
    """The body as a JSON object (:func:`read_body`), nested at most
    :data:`sync.wire.MAX_DEPTH` levels (checked before it is parsed).

    :raises sync.errors.BadBody: not JSON, not an object, or nested too deep (400).
    """
    raw = read_body(limit) or b"{}"
    if wire.too_deep(raw):
        raise errors.BadBody(f"The body nests more than {wire.MAX_DEPTH} levels.")
    try:
        # json, not orjson: a number past 64 bits or NaN is read, then refused by name below.
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.BadBody("The body is not JSON.") from error
    if not isinstance(value, dict):
        raise errors.BadBody("The body must be a JSON object.")
    return value


def whole_number(body: dict[str, Any], key: str, default: int | None = None, low: int = 0,
                 high: int = INT_MAX, required: bool = False, nullable: bool = True) -> int | None:
    """``body[key]`` as an integer in ``[low, high]``; ``default`` when absent (or null, when
    ``nullable``).

    The bounds are those of the column the number is compared with (a 64-bit integer, by
    default): a number past them reaches no query.

    :raises sync.errors.BadBody: missing when ``required``, null when not ``nullable``, another
        type (``true`` is not 1), or out of range (400).
    """
    value = body.get(key)
    if value is None and (key in body and not nullable or required):
        raise errors.BadBody(f"{key} is missing.", field=key)
    if value is None:
        return default
    if type(value) is not int or not low <= value <= high:
        raise errors.BadBody(f"{key} must be an integer from {low} to {high}.", field=key)
    return value


def seq_range(body: dict[str, Any], key: str) -> list[int] | None:
    """``body[key]`` as ``[low, high]``, two operation numbers with ``low <= high``, or
    ``None`` when absent or null.

    :raises sync.errors.BadBody: another shape, or a number out of range (400).
    """
    value = body.get(key)
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2
            and all(type(x) is int and 0 <= x <= INT_MAX for x in value)
            and value[0] <= value[1]):
        raise errors.BadBody(f"{key} must be two integers [low, high], 0 <= low <= high <= "
                             f"{INT_MAX}.", field=key)
    return value


def after_header(first_seq: int) -> int | None:
    """The ``X-Sync-After`` header: the last operation of the page the node sent before this
    one, when it is just before this page's first (``first_seq``); ``None`` otherwise (absent,
    not a number, or another number: the header is a hint, never refused)."""
    value = request.headers.get("X-Sync-After", "")
    # "²" is a digit to Python; a 5,000-digit number is more than int() will read.
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    return int(value) if int(value) == first_seq - 1 else None
