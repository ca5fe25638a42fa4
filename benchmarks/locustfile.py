"""Locust users for central's load test (``benchmarks/load.py`` prepares the plan and runs them).

- :class:`NodeUser` — a field node's sync day, once: handshake, push its day's work (about 1% of
  its scope, as the node's own outbox would send it: updates of its families, gzip-compressed
  NDJSON pages numbered after what central last applied), then pull every page of what changed
  in its scope. The operations are those ``benchmarks/load.py`` wrote into the plan; the pages
  are encoded with the node's own wire code (:func:`sync.wire.encode_body`).
- :class:`CoordinatorUser` — logs in, opens the dashboard, now and then downloads an export.
- :class:`VerifyUser` — a phone checking a printed agreement's QR at ``/verify``.

The plan is a JSON file named by ``FIELDAPP_LOAD_PLAN``; each node user takes the next node of it
and stops after its sync; the coordinators go on for the whole run.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, between, constant, events, task
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.node.transport import encode_body  # noqa: E402

PLAN: dict[str, Any] = json.loads(Path(os.environ["FIELDAPP_LOAD_PLAN"]).read_text())
_nodes = iter(PLAN["nodes"])
_lock = threading.Lock()
#: What each node user saw, written to ``FIELDAPP_LOAD_RESULTS`` at the end of the run.
OUTCOMES: list[dict[str, Any]] = []


def _decode(response: Any) -> dict[str, Any]:
    """The JSON answer (central compresses large answers with gzip, as its header says)."""
    body = response.content
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return json.loads(body)


class NodeUser(HttpUser):
    """One field node's sync day."""

    fixed_count = int(os.environ.get("FIELDAPP_LOAD_NODES", "0") or 0) or len(PLAN["nodes"])
    wait_time = constant(0)

    def on_start(self) -> None:
        with _lock:
            self.node = next(_nodes, None)
        if self.node is None:
            raise StopUser()
        self.auth = {"Authorization": f"Node {self.node['id']}:{self.node['secret']}"}

    def _post(self, name: str, payload: Any = None, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        if body is None:
            raw = json.dumps(payload, separators=(",", ":")).encode()
            body, headers = encode_body(raw, "application/json")
        with self.client.post(f"/sync/v1/{name}", data=body, name=name, catch_response=True,
                              headers={**self.auth, **(headers or {})}) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                raise StopUser()
            return _decode(response)

    @task
    def sync_day(self) -> None:
        node = self.node
        ops = node["ops"]
        outcome = {"node": node["code"], "sent": len(ops), "acked": 0, "rejected": 0,
                   "conflicts": 0, "pulled_rows": 0, "pull_pages": 0, "ok": False,
                   "started": time.time()}
        try:
            answer = self._post("handshake", {
                "protocol": PLAN["protocol"], "schema": PLAN["schema"], "app": PLAN["app"],
                "time": PLAN["time"], "seq": len(ops), "acked": 0, "cursor": node["cursor"],
                "mark": None, "pending": len(ops), "quarantined": 0})
            acked = int(answer.get("acked") or 0)
            page_ops = int(PLAN["page_ops"])
            for start in range(acked, len(ops), page_ops):
                lines = [json.dumps({"s": start + i + 1, **op}, separators=(",", ":")).encode()
                         for i, op in enumerate(ops[start:start + page_ops])]
                body, headers = encode_body(b"\n".join(lines), "application/x-ndjson")
                pushed = self._post("push", body=body, headers=headers)
                outcome["acked"] = int(pushed["acked"])
                outcome["rejected"] += len(pushed.get("rejected") or [])
                outcome["conflicts"] += int(pushed.get("conflicts") or 0)
            cursor = node["cursor"]
            while True:
                page = self._post("pull", {"cursor": cursor, "limit": 0})
                outcome["pull_pages"] += 1
                outcome["pulled_rows"] += sum(len(t["r"]) for t in page["t"])
                cursor = int(page["c"])
                if not page.get("m"):
                    break
            outcome["cursor"] = cursor
            outcome["ok"] = (outcome["acked"] == len(ops) and not outcome["rejected"]
                             and not outcome["conflicts"])
        finally:
            outcome["finished"] = time.time()
            OUTCOMES.append(outcome)
        raise StopUser()


class CoordinatorUser(HttpUser):
    """A coordinator on the dashboard: a page every few seconds, an export now and then."""

    fixed_count = int(os.environ.get("FIELDAPP_LOAD_COORDINATORS", "0") or 0)
    wait_time = between(1, 3)

    def on_start(self) -> None:
        user = random.choice(PLAN["coordinators"])  # noqa: S311 - a load pattern, not a secret
        page = self.client.get("/auth/login", name="login page").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        response = self.client.post("/auth/login", name="login", allow_redirects=False, data={
            "username": user, "password": PLAN["password"],
            "csrf_token": token.group(1) if token else ""})
        if response.status_code != 302:
            raise StopUser()

    @task(10)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="dashboard")

    @task(1)
    def export(self) -> None:
        self.client.get("/dashboard/export/deliveries.csv", name="export deliveries.csv")


class VerifyUser(HttpUser):
    """A phone that scanned a printed agreement's QR code."""

    fixed_count = int(os.environ.get("FIELDAPP_LOAD_PHONES", "0") or 0)
    wait_time = constant(0)

    @task
    def verify(self) -> None:
        agreement_id, printed_hash = random.choice(PLAN["verify"])  # noqa: S311
        self.client.get(f"/verify/{agreement_id}/{printed_hash}", name="verify")


@events.quitting.add_listener
def _write_outcomes(environment: Any, **_: Any) -> None:
    target = os.environ.get("FIELDAPP_LOAD_RESULTS")
    if target:
        Path(target).write_text(json.dumps(OUTCOMES))
