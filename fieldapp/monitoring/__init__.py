"""What an operator watches: ``/healthz``, Prometheus ``/metrics``, request ids and JSON logs.

Nothing here is kept between requests but per-process counters (Prometheus' own, shared across
a server's worker processes through ``PROMETHEUS_MULTIPROC_DIR``); what the database knows
(conflicts, quarantine, the outbox) is read from it at each scrape, so every app server of a
central answers the same.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("monitoring", __name__)


def init_app(app: Flask) -> None:
    """Request ids, the request log, metrics of every request and of every sync."""
    from fieldapp.monitoring import logs, metrics

    logs.init_app(app)
    metrics.init_app(app)


from fieldapp.monitoring import views  # noqa: E402,F401 - the routes register on bp
