"""The field node's connection to central: HTTP transport, request bodies, its credential.

HTTP/1.1 with keep-alive (``http.client``: no dependency), gzip both ways, TLS with certificate
and host name checks when central's URL is ``https``. Enrolment exchanges a one-time code for
the credential, kept in the instance folder.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import update

from sync import errors, gcpause, wire
from sync.state import AppState

#: Bodies smaller than this go uncompressed.
GZIP_MIN = 400
CREDENTIAL_FILE = "sync.json"
#: Answers larger than this (inflated) are decoded with the cycle collector held.
PAUSE_COLLECTOR_ABOVE = 256 * 1024


# -- credentials ---------------------------------------------------------------------------
def credential_path(state: AppState) -> Path:
    return Path(state.app.instance_path) / CREDENTIAL_FILE


def load_credentials(state: AppState) -> dict[str, Any] | None:
    """The enrolment kept in the instance folder, ``None`` when the node is not enrolled."""
    path = credential_path(state)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def save_credentials(state: AppState, data: dict[str, Any]) -> None:
    path = credential_path(state)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


# -- transport ---------------------------------------------------------------------------------
class Transport:
    """POST JSON (or NDJSON) to central over one kept-alive connection; count what it costs."""

    def __init__(self, url: str, timeout: float = 60.0, ca_file: str | None = None,
                 auth: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.NotEnrolled(f"Not a central URL: {url!r}")
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.ca_file = ca_file
        self.auth = auth
        self.conn: http.client.HTTPConnection | None = None
        self._aborted = False
        self._abort_lock = threading.Lock()
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        #: The second connection (a push page sent ahead), counted with this one.
        self._sibling: Transport | None = None
        self._owner: Transport = self
        self._count_lock = threading.Lock()

    def sibling(self) -> Transport:
        """A second connection to the same central (opened on its first request), its
        requests and bytes counted with this one's, aborted with it (and closed by
        :meth:`close_all`)."""
        if self._sibling is None:
            self._sibling = Transport(self.url, self.timeout, self.ca_file, self.auth)
            self._sibling._owner = self
        return self._sibling

    def reopened(self) -> Transport:
        """This transport, or after :meth:`abort` (pull pages asked ahead and cut) a new one to
        the same central, counted with it (the caller closes it)."""
        if not self._aborted:
            return self
        fresh = Transport(self.url, self.timeout, self.ca_file, self.auth)
        fresh._owner = self._owner
        return fresh

    def _count(self, requests: int = 0, sent: int = 0, received: int = 0) -> None:
        owner = self._owner
        with owner._count_lock:
            owner.requests += requests
            owner.bytes_sent += sent
            owner.bytes_received += received

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self) -> None:
        """Close this connection (the next request opens another); not its sibling's, which
        may be waiting for an answer in another thread."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def close_all(self) -> None:
        """Close this connection and its sibling's (the sync is over)."""
        self.close()
        if self._sibling is not None:
            self._sibling.close()

    def abort(self) -> None:
        """Cut the connection at once, from another thread than the one using it: a request
        waiting for its answer fails now (:class:`sync.errors.Unreachable`) instead of waiting
        up to the timeout; a request not yet sent is not sent. The transport stays unusable."""
        with self._abort_lock:  # see send(): either it sees the flag or this sees its socket
            self._aborted = True
            sock = getattr(self.conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._sibling is not None:
            self._sibling.abort()

    def post(self, path: str, payload: Any = None, body: bytes | None = None,
             content_type: str = "application/json") -> dict[str, Any]:
        """Send one request; the decoded JSON answer, or the :class:`SyncError` it carries.

        :raises sync.errors.Unreachable: no connection, or it broke before the answer.
        :raises sync.errors.BadResponse: the answer was cut or is not JSON.
        """
        if body is None:
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return self.send(path, *encode_body(body, content_type))

    def send(self, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """Send a body already encoded by :func:`encode_body` (see :meth:`post`)."""
        response, raw = self._exchange(path, body, headers)
        data = self._decode(response, raw)
        if response.status != 200:
            raise errors.from_response(response.status, data if isinstance(data, dict) else None)
        if not isinstance(data, dict):
            raise errors.BadResponse("The answer is not a JSON object.")
        return data

    def fetch_bytes(self, path: str, payload: Any) -> tuple[bytes, dict[str, str]]:
        """POST JSON, answered with raw bytes (a piece of a file): the bytes and the answer's
        headers (lower-case names); an error answer raises as :meth:`post` does."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        response, raw = self._exchange(path, body, {"Content-Type": "application/json"})
        if response.status != 200:
            data = self._decode(response, raw)
            raise errors.from_response(response.status, data if isinstance(data, dict) else None)
        return raw, {k.lower(): v for k, v in response.getheaders()}

    def _exchange(self, path: str, body: bytes, headers: dict[str, str]
                  ) -> tuple[http.client.HTTPResponse, bytes]:
        headers = dict(headers)
        if self.auth:
            headers["Authorization"] = self.auth
        if self.conn is None:
            self.conn = self._connect()
        conn = self.conn
        url = self.prefix + "/sync/v1" + path
        self._count(requests=1, sent=len(body) + len(url) + 60 + sum(
            len(k) + len(v) + 4 for k, v in headers.items()))
        try:
            if conn.sock is None:
                conn.connect()  # here, not inside request(): abort() can then cut it
            with self._abort_lock:
                if self._aborted:
                    raise OSError("the sync stopped")
            conn.request("POST", url, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except ssl.SSLCertVerificationError as error:
            self.close()
            raise errors.TLSFailure(str(error)) from error
        except (http.client.IncompleteRead, http.client.BadStatusLine) as error:
            self.close()
            raise errors.BadResponse(f"The answer was cut: {error!r}") from error
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise errors.Unreachable(f"{type(error).__name__}: {error}") from error
        self._count(received=len(raw) + 17 + sum(len(k) + len(v) + 4
                                                 for k, v in response.getheaders()))
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response, raw

    def _decode(self, response: http.client.HTTPResponse, raw: bytes) -> Any:
        """The JSON of an answer (inflated if gzip); a cut or damaged body is refused."""
        if response.getheader("Content-Encoding", "").lower() == "gzip":
            try:
                raw, whole = wire.gunzip(raw)
            except wire.error as error:
                self.close()
                raise errors.BadResponse("The gzip answer is damaged.") from error
            if not whole:
                raise errors.BadResponse("The gzip answer was cut.")
        try:
            if len(raw) < PAUSE_COLLECTOR_ABOVE:
                return _loads(raw) if raw else {}
            with gcpause.paused():  # a pulled page: a list per row (see there)
                return _loads(raw)
        except ValueError as error:
            self.close()
            raise errors.BadResponse(
                f"The answer is not JSON (HTTP {response.status}): {raw[:200]!r}") from error


def _loads(raw: bytes) -> Any:
    """JSON by orjson (a pulled page in a third of the time, on the thread that competes with
    the page being applied); what orjson refuses and the standard library reads (NaN, integers
    past 64 bits, UTF-16) as before.

    :raises ValueError: neither reads it.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def encode_body(body: bytes, content_type: str) -> tuple[bytes, dict[str, str]]:
    """A request body as sent (gzip when worth it) and its headers."""
    headers = {"Content-Type": content_type, "Accept-Encoding": "gzip"}
    if len(body) >= GZIP_MIN:
        body = wire.gzip(body)
        headers["Content-Encoding"] = "gzip"
    return body, headers


def transport_for(state: AppState, creds: dict[str, Any]) -> Transport:
    return Transport(
        creds["central_url"],
        timeout=float(state.config("SYNC_TIMEOUT")),
        ca_file=creds.get("ca_file") or state.config("SYNC_CA_FILE"),
        auth=f"Node {creds['node_id']}:{creds['secret']}",
    )


# -- enrolment -------------------------------------------------------------------------------
def enrol(state: AppState, central_url: str, code: str, ca_file: str | None = None
          ) -> dict[str, Any]:
    """Exchange a one-time enrolment code for this node's credential (kept in the instance
    folder, readable by its owner only).

    :raises sync.errors.SyncError: central refused (``enrolment_refused``) or is unreachable.
    """
    transport = Transport(central_url, timeout=float(state.config("SYNC_TIMEOUT")),
                          ca_file=ca_file or state.config("SYNC_CA_FILE"))
    try:
        answer = transport.post("/enroll", {
            "code": code, "app": state.app_version,
            "schema": state.schema_version(state.session),
        })
    finally:
        state.session.rollback()
        transport.close()
    node = answer["node"]
    creds = {
        "central_url": central_url.rstrip("/"), "node_id": node["id"], "node_code": node["code"],
        "name": node["name"], "scope": node["scope"], "secret": answer["secret"],
        "ca_file": ca_file, "enrolled_at": state.now().isoformat(),
    }
    # A node enrolled again after its database was lost numbers from where central is.
    acked = int(answer.get("acked") or 0)
    if acked:
        t = state.tables.state
        state.session.execute(update(t).where(t.c.key == "node_seq", t.c.value < acked)
                              .values(value=acked))
        state.session.execute(update(t).where(t.c.key == "acked_seq", t.c.value < acked)
                              .values(value=acked))
        state.session.commit()
    save_credentials(state, creds)
    return creds
