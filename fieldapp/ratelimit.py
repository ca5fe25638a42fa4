"""Rate limits counted in the database, so every worker process of central shares them.

A fixed window per key (e.g. ``verify:<client address>``): one upsert per request increments the
window's counter and returns it, atomically on SQLite and PostgreSQL alike. Old windows are
deleted as new ones start.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response
from sqlalchemy import BigInteger, Integer, String, bindparam, delete, text
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.extensions import db
from fieldapp.models import Base


class RateLimitHit(Base):
    """Requests counted for one key in one time window (local to this installation, not synced)."""

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


def dialect_insert():  # type: ignore[no-untyped-def]
    """The ``insert`` of the session's dialect, which has ``on_conflict_do_update``."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two databases fieldapp runs on
        raise RuntimeError(f"no rate-limit upsert for {dialect}")
    return insert


def hit(key: str, limit: int, window_seconds: int, now: float | None = None,
        durable: bool = True) -> bool:
    """Count one request for ``key``; whether it is within ``limit`` per ``window_seconds``.

    Joins the caller's transaction (the view commits). A refused request counts too, so a
    client that keeps hammering stays refused until the window ends.

    :param durable: ``False`` for a transaction that holds nothing but this count (the public
        pages phones open: /verify, a grievance's status): on PostgreSQL its commit then does
        not wait for the disk (``synchronous_commit off``; a crash may forget the last
        fraction of a second of counts, never anything else), so a burst of phones is not
        queued behind one fsync per request.
    """
    dialect = db.session.get_bind().dialect.name
    if not durable and dialect == "postgresql":
        db.session.execute(_NOT_WAITING)
    window = int((time.time() if now is None else now) // window_seconds)
    count = db.session.execute(_upsert(dialect), {"key": key[:120], "window": window}
                               ).scalar_one()
    if count == 1:
        db.session.execute(_FORGET, {"before": window - 1})
    return count <= limit


_NOT_WAITING = text("SET LOCAL synchronous_commit TO OFF")
_FORGET = delete(RateLimitHit).where(RateLimitHit.window < bindparam("before"))
_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """The counting statement, built once per dialect (the public pages run it on every
    request: building it each time cost more than running it)."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        table = RateLimitHit.__table__
        stmt = _UPSERTS[dialect] = (
            dialect_insert()(table)
            .values(key=bindparam("key"), window=bindparam("window"), count=1)
            .on_conflict_do_update(index_elements=["key", "window"],
                                   set_={"count": table.c.count + 1})
            .returning(table.c.count)
        )
    return stmt


def retry_after(window_seconds: int, now: float | None = None) -> int:
    """Seconds until the current window ends (for the ``Retry-After`` header)."""
    now = time.time() if now is None else now
    return max(1, int(window_seconds - now % window_seconds))


def too_many(window_seconds: int) -> Response:
    """The answer to a request past its limit: 429 ``rate_limited`` (JSON or a page) with
    ``Retry-After`` (the public pages that count requests: /verify, a grievance's status)."""
    from flask import jsonify, make_response, render_template
    from flask_babel import gettext as _

    from fieldapp.errors import wants_json

    message = _("Too many attempts. Wait a few minutes and try again.")
    if wants_json():
        response = jsonify(error={"code": "rate_limited", "message": message})
    else:
        response = make_response(render_template(
            "errors/error.html", code="rate_limited", status=429, message=message))
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after(window_seconds))
    return response
