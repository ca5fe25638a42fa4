"""The agreement cycle's measurements for ``pages.py``: recording a delivery, saving attendance
for a 60-family session, saving a compliance visit, and an agreement page with its history.

Each write is a real form POST (with its CSRF token and a fresh idempotency key) through the
running server, as the tablet's outbox sends it (``Accept: application/json``).
"""

from __future__ import annotations

import base64
import io
import os
import random
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from _harness import csrf_token, timed

#: The demo's "today": inside every 2026 agreement, never in the future.
DEMO_DAY = "2026-10-31"
#: Writes are sent as the PWA's outbox sends them: the JSON answer, no redirect to follow (a
#: browser's redirect would add a page view, and unfollowed redirects pile flashes in the cookie).
JSON = {"Accept": "application/json"}


def _hex_uuid(value: str) -> str:
    return str(uuid.UUID(hex=value))


def _signature() -> str:
    """A pad-sized PNG with a scribble, as the signature pad posts it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (600, 200), "white")
    rng = random.Random(7)
    ImageDraw.Draw(img).line([(20 + i * 18, 100 + rng.uniform(-60, 60)) for i in range(31)],
                             fill="black", width=3)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _sample(instance: Path, runs: int, seed: int) -> dict[str, Any]:
    conn = sqlite3.connect(instance / "fieldapp.sqlite")
    rng = random.Random(seed)
    active = conn.execute(
        "SELECT a.id, a.family_id FROM agreements a WHERE a.status = 'active' AND a.year = 2026"
        " AND a.voided = 0 ORDER BY a.number").fetchall()
    picked = rng.sample(active, min(runs + 2, len(active)))
    commitments: dict[str, list[str]] = {}
    for agreement_id, _family in picked:
        commitments[agreement_id] = [r[0] for r in conn.execute(
            "SELECT id FROM agreement_commitments WHERE agreement_id = ? AND voided = 0",
            (agreement_id,))]
    with_history = [r[0] for r in conn.execute(
        "SELECT id FROM agreements WHERE supersedes_id IS NOT NULL AND voided = 0")]
    pages = rng.sample(with_history or [a for a, _ in active], min(runs + 2, len(with_history)
                                                                    or len(active)))
    benefit = conn.execute(
        "SELECT id FROM benefit_types WHERE code = 'technical_assistance'").fetchone()[0]
    big = conn.execute(
        "SELECT community_id, COUNT(*) n FROM families WHERE voided = 0 GROUP BY community_id"
        " ORDER BY n DESC LIMIT 1").fetchone()[0]
    families = [r[0] for r in conn.execute(
        "SELECT id FROM families WHERE voided = 0 ORDER BY community_id = ? DESC, code LIMIT 60",
        (big,))]
    conn.close()
    return {"agreements": picked, "commitments": commitments, "pages": pages,
            "benefit": _hex_uuid(benefit), "community": _hex_uuid(big),
            "families": [_hex_uuid(f) for f in families]}


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycle_rows(base: str, http: requests.Session, instance: Path, runs: int,
               seed: int, pid: int | None = None) -> dict[str, dict[str, float]]:
    """Time the cycle's writes and the agreement page; returns rows for ``report``.

    With ``pid``, each row also gets ``cpu_ms``: the server's CPU time per request (averaged
    over the run), which a machine busy with other work inflates much less than wall time.
    """
    data = _sample(instance, runs, seed)
    agreements = data["agreements"]
    token = csrf_token(http.get(f"{base}/trainings/new").text)
    signature = _signature()

    def delivery_record(i: int) -> None:
        _agreement, family = agreements[i % len(agreements)]
        response = http.post(f"{base}/deliveries/new", headers=JSON, data={
            "csrf_token": token, "idempotency_key": str(uuid.uuid4()),
            "family_id": _hex_uuid(family), "benefit_type_id": data["benefit"],
            "quantity": "1", "delivered_on": DEMO_DAY, "delivered_by_name": "Benchmark",
            "receipt_kind": "signature", "receipt_signature": signature,
            "confirm_over_promise": "y",
        })
        assert response.status_code == 201, (response.status_code, response.text[:300])

    # One session per timed save (plus the warm-ups), created before the clock starts.
    sessions = []
    for _ in range(runs + 2):
        response = http.post(f"{base}/trainings/new", headers=JSON,
                             data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()),
                                   "held_on": DEMO_DAY, "topic": "Benchmark",
                                   "community_id": data["community"], "trainer_name": "B",
                                   "duration_hours": "2"})
        assert response.status_code == 201, response.text[:300]
        sessions.append(response.json()["id"])

    def attendance_save_60(i: int) -> None:
        response = http.post(f"{base}/trainings/{sessions[i]}/attendance", headers=JSON,
                             data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()),
                                   "family": data["families"], "shown": ""})
        assert response.status_code == 201, (response.status_code, response.text[:300])

    def visit_save(i: int) -> None:
        agreement, family = agreements[i % len(agreements)]
        form = {"csrf_token": token, "idempotency_key": str(uuid.uuid4()),
                "agreement_id": _hex_uuid(agreement), "visited_on": DEMO_DAY,
                "monitor_name": "Benchmark", "lat": "-5.7", "lon": "-77.5"}
        for cid in data["commitments"][agreement]:
            form[f"result_{cid}"] = "met"
        response = http.post(f"{base}/compliance/visits/new?family={_hex_uuid(family)}",
                             headers=JSON, data=form)
        assert response.status_code == 201, (response.status_code, response.text[:300])

    def agreement_page(i: int) -> None:
        page = data["pages"][i % len(data["pages"])]
        http.get(f"{base}/agreements/{_hex_uuid(page)}").raise_for_status()

    plan: dict[str, tuple[Callable[[int], None], int]] = {
        "delivery_record": (delivery_record, runs),
        "attendance_save_60": (lambda i: attendance_save_60(i + 2), runs),
        "visit_save": (visit_save, runs),
        "agreement_page": (agreement_page, runs),
    }
    rows = {}
    for name, (fn, n) in plan.items():
        before = server_cpu_s(pid) if pid else 0.0
        rows[name] = timed(fn, n)
        if pid:
            rows[name]["cpu_ms"] = round((server_cpu_s(pid) - before) * 1000 / (n + 2), 2)
    return rows


def cpu_figures(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    """``<row>_cpu_ms`` keys for the JSON line (rows measured with a pid)."""
    return {f"{name}_cpu_ms": row["cpu_ms"] for name, row in rows.items() if "cpu_ms" in row}
