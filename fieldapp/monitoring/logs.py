"""Request ids and logs: one line per request, as text or as JSON lines (``LOG_FORMAT``).

Every request carries an id: the ``X-Request-Id`` the proxy sent when it is a plain token, or a
new one; it is answered in the same header and named in every log line written while the request
is served, so a line in nginx's log, the app's and a user's report can be put together. A request
line names the route, never the query string (searches hold names and DNIs).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

#: The loggers whose lines the JSON option formats: the app's, the engine's, the requests'.
LOGGERS = ("fieldapp", "sync")
REQUEST_LOG = logging.getLogger("fieldapp.requests")
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Attributes every LogRecord has: anything else was passed as ``extra`` and goes in the line.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def request_id() -> str | None:
    """The current request's id (``None`` outside a request)."""
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Names the request (``record.request_id``, ``-`` outside one) in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id, the
    ``extra`` fields, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


_installed: dict[str, logging.Handler] = {}


def configure(app: Flask) -> None:
    """Set the app's loggers' level and, with ``LOG_FORMAT = "json"``, one JSON-lines handler
    on stderr in place of Flask's (once per process: every app built in it shares loggers)."""
    level = str(app.config.get("LOG_LEVEL", "INFO")).upper()
    fmt = str(app.config.get("LOG_FORMAT", "text")).lower()
    if fmt not in ("text", "json"):
        raise RuntimeError(f"FIELDAPP_LOG_FORMAT must be 'text' or 'json', not {fmt!r}")
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
            logger.addFilter(RequestIdFilter())
    if fmt != "json" or "json" in _installed:
        return
    from flask.logging import default_handler

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    _installed["json"] = handler
    logging.getLogger("fieldapp").removeHandler(default_handler)
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).propagate = False


def init_app(app: Flask) -> None:
    configure(app)
    header = app.config.get("REQUEST_ID_HEADER", "X-Request-Id")
    log_requests = app.config.get("LOG_REQUESTS")
    if log_requests is None:  # on with JSON lines; the development server logs its own
        log_requests = str(app.config.get("LOG_FORMAT", "text")).lower() == "json"

    @app.before_request
    def name_request() -> None:
        given = request.headers.get(header, "")
        g.request_id = given if _TOKEN.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def answer_request_id(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers[header] = rid
        if log_requests and "request_started" in g:
            REQUEST_LOG.info(
                "%s %s %s", request.method, route(), response.status_code,
                extra={"method": request.method, "route": route(),
                       "status": response.status_code, "duration_ms": elapsed_ms()})
        return response


def route() -> str:
    """The rule the request matched (``/families/<uuid:family_id>``), never its values or query:
    few distinct values for the metrics, nothing personal in the logs."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(unmatched)"


def elapsed_ms() -> float:
    started = g.get("request_started")
    return round((time.perf_counter() - started) * 1000, 1) if started is not None else 0.0
