"""``/healthz`` for load balancers and supervisors, ``/metrics`` for Prometheus."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from functools import cache
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fieldapp.auth.access import public
from fieldapp.errors import AppError, NotFound
from fieldapp.extensions import db
from fieldapp.monitoring import bp
from fieldapp.monitoring.metrics import exposition

log = logging.getLogger(__name__)


class MetricsRefused(AppError):
    """A scrape from another machine without the token (or with a wrong one)."""

    code = "metrics_refused"
    status = 403
    message = _l("Metrics are served to this machine only, or to a scraper that sends the "
                 "metrics token.")


@cache
def migration_heads() -> frozenset[str]:
    """The newest migrations this code knows (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from fieldapp.locations import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@bp.route("/healthz", methods=["GET", "HEAD"])
@public
def healthz() -> Any:
    """200 when the database answers and its schema is this code's; 503 saying which is not.

    Says nothing else (no version string to fingerprint, no error text: that goes to the log)."""
    checks = {"database": "ok", "migrations": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        checks = {"database": "unreachable", "migrations": "unknown"}
        log.error("healthz: the database does not answer (%s)", error.__class__.__name__)
    else:
        try:
            applied = set(db.session.execute(text("SELECT version_num FROM alembic_version"))
                          .scalars())
        except SQLAlchemyError:
            db.session.rollback()
            applied = set()
        if applied != migration_heads():
            checks["migrations"] = "behind" if applied else "none"
            log.warning("healthz: the database is at %s, the code at %s", sorted(applied),
                        sorted(migration_heads()))
    healthy = all(v == "ok" for v in checks.values())
    response = jsonify(status="ok" if healthy else "failing", checks=checks,
                       role=current_app.config["ROLE"])
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public
def metrics() -> Any:
    """Prometheus' text format, for a scraper on this machine or one holding ``METRICS_TOKEN``."""
    if not current_app.config.get("METRICS_ENABLED", True):
        raise NotFound()
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise MetricsRefused()
    elif not _loopback(request.remote_addr):
        raise MetricsRefused()
    response = exposition(current_app._get_current_object())  # type: ignore[attr-defined]
    response.headers["Cache-Control"] = "no-store"
    return response


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
