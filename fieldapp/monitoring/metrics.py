"""Prometheus metrics: requests and syncs counted per process, the database's queues read at
each scrape.

Counters and histograms live in the process that served the request. Under gunicorn with
several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder writable by the service
(deploy/central.env does): every worker then writes its figures there and any worker's scrape
adds them up (prometheus_client's multiprocess mode). Gauges of what the database holds (open
conflicts, quarantined operations, the node's outbox) are read from it when scraped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from fieldapp.monitoring.logs import route

#: The per-process metrics (module-level: a process registers each once, whatever number of
#: apps it builds, as tests do).
REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "fieldapp_http_requests", "Requests answered, by method, route and status.",
    ["method", "route", "status"], registry=REGISTRY)
HTTP_SECONDS = Histogram(
    "fieldapp_http_request_duration_seconds", "Time to answer a request, by route.",
    ["route"], registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
SYNC_REQUESTS = Counter(
    "fieldapp_sync_actions", "Sync actions (central: a node's enrol, handshake, push or pull "
    "page; a node: its own syncs), by action and outcome.", ["action", "ok"], registry=REGISTRY)
SYNC_SECONDS = Histogram(
    "fieldapp_sync_action_duration_seconds", "Time of a sync action, by action.", ["action"],
    registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0))
SYNC_OPERATIONS = Counter(
    "fieldapp_sync_operations", "Operations of pushed pages, by result (applied, rejected, "
    "replayed, conflicts).", ["result"], registry=REGISTRY)
SYNC_PULLED_ROWS = Counter(
    "fieldapp_sync_pulled_rows", "Rows sent in pull pages.", registry=REGISTRY)


def observe_request(status: int, started_s: float) -> None:
    rule = route()
    HTTP_REQUESTS.labels(request.method, rule, str(status)).inc()
    HTTP_SECONDS.labels(rule).observe(started_s)


def observe_sync(_app: Any, *, action: str, ok: bool, duration_ms: int,
                 detail: dict[str, Any], **_: Any) -> None:
    """Receiver of :data:`sync.synclog.logged`."""
    SYNC_REQUESTS.labels(action, "true" if ok else "false").inc()
    SYNC_SECONDS.labels(action).observe(duration_ms / 1000)
    if action == "push":
        for result in ("applied", "rejected", "replayed", "conflicts"):
            n = detail.get(result)
            if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                SYNC_OPERATIONS.labels(result).inc(n)
    elif action == "pull" and isinstance(detail.get("rows"), int):
        SYNC_PULLED_ROWS.inc(detail["rows"])


class DatabaseCollector(Collector):
    """What the database holds, read at each scrape (the same on every app server)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from fieldapp import __version__
        from fieldapp.extensions import db
        from sync.state import current_state

        info = GaugeMetricFamily("fieldapp_info", "This installation.",
                                 labels=["role", "version", "node_code"])
        info.add_metric([self.app.config["ROLE"], __version__,
                         str(self.app.config.get("NODE_CODE", ""))], 1)
        yield info
        state = current_state(self.app)
        if state is None:
            return
        t = state.tables
        session = db.session
        conflicts = session.scalar(
            select(func.count()).select_from(t.conflicts).where(t.conflicts.c.status == "open"))
        yield GaugeMetricFamily("fieldapp_sync_conflicts_open",
                                "Conflicts waiting for a coordinator.", value=conflicts or 0)
        quarantined = GaugeMetricFamily(
            "fieldapp_sync_quarantined", "Operations set aside and not yet resolved, by "
            "direction (push: refused by central; pull: a row a node could not apply).",
            labels=["direction"])
        counts = dict(session.execute(
            select(t.quarantine.c.direction, func.count())
            .where(t.quarantine.c.resolved_at.is_(None)).group_by(t.quarantine.c.direction)
        ).all())
        for direction in ("push", "pull"):
            quarantined.add_metric([direction], counts.get(direction, 0))
        yield quarantined
        pending = session.scalar(
            select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "pending"))
        yield GaugeMetricFamily("fieldapp_sync_outbox_pending",
                                "Operations captured here and not yet acknowledged by central.",
                                value=pending or 0)
        last = session.scalar(select(func.max(t.changes.c.server_seq)))
        yield GaugeMetricFamily("fieldapp_sync_changes_last_seq",
                                "The newest entry of the change log (central: what nodes pull).",
                                value=last or 0)


def exposition(app: Flask) -> Response:
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(app))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ProcessMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def init_app(app: Flask) -> None:
    from sync import synclog

    synclog.logged.connect(observe_sync, weak=False)

    @app.after_request
    def count_request(response: Response) -> Response:
        from fieldapp.monitoring.logs import elapsed_ms

        if request.endpoint != "monitoring.metrics":
            observe_request(response.status_code, elapsed_ms() / 1000)
        return response
