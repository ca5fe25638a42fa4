"""What an operator watches: /healthz, /metrics, request ids, JSON log lines."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fieldapp.extensions import db
from testing.servers import Gunicorn


def metric(body: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    total = 0.0
    for line in body.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


def test_healthz_answers_without_a_login(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "role": "field",
                             "checks": {"database": "ok", "migrations": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"
    assert client.head("/healthz").status_code == 200


def test_healthz_fails_when_the_schema_is_behind_the_code(app: Flask) -> None:
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0015_unit_plurals'"))
        db.session.commit()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "failing"
    assert response.json["checks"] == {"database": "ok", "migrations": "behind"}


def test_healthz_fails_when_the_database_does_not_answer(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_: Any, **__: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    client = app.test_client()
    with app.app_context():
        monkeypatch.setattr(db.session, "execute", down)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "unreachable", "migrations": "unknown"}
    assert "refused" not in response.get_data(as_text=True)  # the log has it, not the answer


def test_every_answer_names_its_request(client: Any) -> None:
    made = client.get("/auth/login").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/auth/login").headers["X-Request-Id"] != made
    given = client.get("/auth/login", headers={"X-Request-Id": "nginx-4f2a.9"})
    assert given.headers["X-Request-Id"] == "nginx-4f2a.9"
    for bad in ("a" * 65, "two words", "<script>", "é"):
        answer = client.get("/nowhere", headers={"X-Request-Id": bad})
        assert answer.status_code == 404
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"]), bad


def test_metrics_count_requests_by_route_and_read_the_queues(auth: Any, client: Any) -> None:
    auth.login("coordinator")
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        assert client.get("/families/").status_code == 200
    client.get("/families/00000000-0000-0000-0000-000000000000")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    counted = (metric(body, "fieldapp_http_requests_total", route="/families/", status="200")
               - metric(before, "fieldapp_http_requests_total", route="/families/", status="200"))
    assert counted == 3
    # The rule, never the values: an unknown family is counted under its route.
    assert metric(body, "fieldapp_http_requests_total",
                  route="/families/<uuid:family_id>", status="404") >= 1
    assert "00000000-0000" not in body
    assert metric(body, "fieldapp_info", role="field", node_code="TST") == 1
    assert metric(body, "fieldapp_sync_conflicts_open") == 0
    assert 'fieldapp_sync_quarantined{direction="push"} 0.0' in body
    assert "fieldapp_sync_outbox_pending" in body


def test_metrics_are_for_this_machine_or_a_token_holder(app_factory: Any) -> None:
    local = app_factory().test_client()
    elsewhere = {"REMOTE_ADDR": "10.1.2.3"}
    assert local.get("/metrics").status_code == 200
    refused = local.get("/metrics", environ_base=elsewhere)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "metrics_refused"

    client = app_factory(METRICS_TOKEN="s3cret-token").test_client()
    assert client.get("/metrics").status_code == 403  # the token is asked of everyone
    wrong = {"Authorization": "Bearer guess"}
    assert client.get("/metrics", headers=wrong, environ_base=elsewhere).status_code == 403
    right = {"Authorization": "Bearer s3cret-token"}
    assert client.get("/metrics", headers=right, environ_base=elsewhere).status_code == 200

    off = app_factory(METRICS_ENABLED=False).test_client()
    assert off.get("/metrics").status_code == 404


def test_gunicorn_workers_share_metrics_and_log_json_lines(tmp_path: Path,
                                                           migrated_db: Path) -> None:
    """As deployed: two workers, ``PROMETHEUS_MULTIPROC_DIR`` and JSON logs. Every request
    is counted whichever worker served it or the scrape, and each log line is JSON naming the
    request id the proxy sent."""
    instance = tmp_path / "central"
    instance.mkdir()
    shutil.copy(migrated_db, instance / "fieldapp.sqlite")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = Gunicorn({
        "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(instance),
        "FIELDAPP_SECRET_KEY": "test", "FIELDAPP_AUTO_MIGRATE": "false",
        "FIELDAPP_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }, workers=2, threads=2)
    try:
        for n in range(20):
            answer = requests.get(f"{server.url}/auth/login", timeout=30,
                                  headers={"X-Request-Id": f"probe-{n}"})
            assert answer.headers["X-Request-Id"] == f"probe-{n}"
        assert requests.get(f"{server.url}/healthz", timeout=30).json()["status"] == "ok"
        # Whichever worker answers (a new connection each time), the figures are their sum.
        scrapes = [requests.get(f"{server.url}/metrics", timeout=30).text for _ in range(4)]
        for body in scrapes:
            assert metric(body, "fieldapp_http_requests_total", route="/auth/login",
                          status="200") == 20
            assert metric(body, "fieldapp_info", role="central") == 1
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines()
             if line.startswith("{")]
    logged = {line["request_id"]: line for line in lines if line["logger"] == "fieldapp.requests"}
    for n in range(20):
        line = logged[f"probe-{n}"]
        assert (line["method"], line["route"], line["status"]) == ("GET", "/auth/login", 200)
        assert line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float)
