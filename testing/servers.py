"""Every server tests and benchmarks start, and the link between them: one module.

- :class:`ThreadServer`: a WSGI app in this process, served by werkzeug in a thread (the app
  object stays reachable: tests read its database while the server runs); TLS optional.
- :class:`AppProcess`: ``fieldapp run`` in its own process (benchmarks: its CPU and memory are
  its own).
- :class:`Gunicorn`: central as deployed, several workers in a subprocess.
- :class:`LinkProxy`: a TCP proxy that counts and cuts bytes.

All listen on a free port of 127.0.0.1 and have ``url`` and ``stop()``.

The proxy stands for the 2G link: it counts the bytes on the wire in each direction (headers
included, as sent) and can cut a connection after a number of bytes, mid-request or
mid-response.
"""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parent.parent


class _QuietHandler(WSGIRequestHandler):
    """No request log (the test output stays readable)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _KeepAliveHandler(_QuietHandler):
    """HTTP/1.1: connections kept alive between requests, as the node's transport uses them."""

    protocol_version = "HTTP/1.1"


class ThreadServer:
    """``app`` (any WSGI callable) served on a free port of 127.0.0.1 by werkzeug in a thread.

    :param keep_alive: HTTP/1.1 with keep-alive (sync tests: the node's transport reuses its
        connection); HTTP/1.0 otherwise.
    :param ssl_context: serve HTTPS with this context.

    Call :meth:`start` (it returns the server); :meth:`stop` closes it without waiting for
    connections a client keeps open.
    """

    def __init__(self, app: Callable[..., Any], *, keep_alive: bool = False,
                 ssl_context: Any = None) -> None:
        self.app = app
        handler = _KeepAliveHandler if keep_alive else _QuietHandler
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler,
                                  ssl_context=ssl_context)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_port
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``python -m fieldapp run`` on a free port, in its own process, with its instance folder.

    :param threaded: one thread per request (a browser opens several connections at once);
        ``False`` serves one request at a time (``--without-threads``).
    """

    def __init__(self, instance: Path, *, threaded: bool = True,
                 env: Mapping[str, str] | None = None, timeout: float = 20,
                 port: int | None = None) -> None:
        self.port = port or free_port()  # a given port: the same server started again
        full_env = {**os.environ, "FIELDAPP_INSTANCE_PATH": str(instance), **(env or {})}
        command = [sys.executable, "-m", "fieldapp", "run", "--port", str(self.port)]
        if not threaded:
            command.append("--without-threads")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/auth/login", timeout=1):  # noqa: S310 - local
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.1)

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, whatever it was doing."""
        self.process.kill()
        self.process.wait(timeout=10)


class LinkProxy:
    """Relay 127.0.0.1:<port> to ``target``; count bytes; cut on demand.

    Given several ports, each new connection goes to the next of them in turn (round robin,
    as a load balancer in front of several app servers); ``by_target`` counts them."""

    def __init__(self, target_port: int | Sequence[int], target_host: str = "127.0.0.1") -> None:
        ports = [target_port] if isinstance(target_port, int) else list(target_port)
        self.targets = [(target_host, port) for port in ports]
        self.target = self.targets[0]
        self.by_target = [0] * len(self.targets)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.up = 0
        self.down = 0
        self.connections = 0
        self.cuts = 0
        self._cut_up: int | None = None
        self._cut_down: int | None = None
        self.down_enabled = True
        self._closing = False
        self._sockets: set[socket.socket] = set()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    # -- control ---------------------------------------------------------------------------
    def reset_counts(self) -> None:
        with self.lock:
            self.up = self.down = 0

    def cut_upload_after(self, nbytes: int) -> None:
        """Cut the connection once ``nbytes`` more bytes went from node to central."""
        with self.lock:
            self._cut_up = self.up + nbytes

    def cut_download_after(self, nbytes: int) -> None:
        """Cut the connection once ``nbytes`` more bytes came back from central."""
        with self.lock:
            self._cut_down = self.down + nbytes

    def set_down(self, down: bool) -> None:
        """Refuse every new connection (a partition) until set back."""
        self.down_enabled = not down

    def close(self) -> None:
        self._closing = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            sockets = list(self._sockets)
        for s in sockets:
            _close(s)

    # -- relay -----------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            if not self.down_enabled:
                _close(client)
                continue
            with self.lock:
                turn = sum(self.by_target) % len(self.targets)
                self.by_target[turn] += 1
            try:
                server = socket.create_connection(self.targets[turn], timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            for s in (client, server):
                # Relay each chunk at once: with Nagle's algorithm the relay held the tail of
                # every answer until the node acknowledged the rest (tens of ms a page).
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self._sockets.update((client, server))
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        pair = {client: server, server: client}
        try:
            while True:
                readable, _w, _x = select.select([client, server], [], [], 30)
                if not readable:
                    break
                for src in readable:
                    data = src.recv(65536)
                    if not data:
                        return
                    upward = src is client
                    data, cut = self._count(data, upward)
                    if data:
                        pair[src].sendall(data)
                    if cut:
                        return
        except OSError:
            return
        finally:
            _close(client)
            _close(server)
            with self.lock:
                self._sockets.discard(client)
                self._sockets.discard(server)

    def _count(self, data: bytes, upward: bool) -> tuple[bytes, bool]:
        with self.lock:
            if upward:
                limit = self._cut_up
                if limit is not None and self.up + len(data) >= limit:
                    keep = max(0, limit - self.up)
                    self.up += keep
                    self._cut_up = None
                    self.cuts += 1
                    return data[:keep], True
                self.up += len(data)
            else:
                limit = self._cut_down
                if limit is not None and self.down + len(data) >= limit:
                    keep = max(0, limit - self.down)
                    self.down += keep
                    self._cut_down = None
                    self.cuts += 1
                    return data[:keep], True
                self.down += len(data)
        return data, False


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class Gunicorn:
    """Central under gunicorn (several workers, threads) in a subprocess on a free port."""

    def __init__(self, env: Mapping[str, str], workers: int = 3, threads: int = 4,
                 cwd: Path | None = None, timeout: float = 60,
                 worker_class: str = "gthread") -> None:
        full_env = {**os.environ, **env}
        root = ROOT
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(root), *filter(None, [full_env.get("PYTHONPATH")])])
        self.log_path = Path(env.get("FIELDAPP_INSTANCE_PATH", ".")) / "gunicorn.log"
        self.log = open(self.log_path, "w+b")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
             str(threads), "--worker-class", worker_class, "--bind", "127.0.0.1:0",
             "--keep-alive", "5", "--graceful-timeout", "5", "--timeout", "120",
             "fieldapp:create_app()"],
            env=full_env, cwd=str(cwd or root), stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        self.port = 0
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
            booted = text.count("Booting worker")
            if match and booted >= workers:
                self.port = int(match.group(1))
                break
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{text}")
            time.sleep(0.1)
        if not self.port:
            self.stop()
            raise RuntimeError("gunicorn did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
