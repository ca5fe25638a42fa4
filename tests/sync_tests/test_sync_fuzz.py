"""What a device, a user or a broken link can send, altered at random (seeded).

- Push pages, handshakes, pulls and enrolments: central answers each with its outcome or a
  stable error code, never a 500, and everything it stored reads back. The values are JSON's
  numbers without bound, NaN and infinities (which Python reads), half of a UTF-16 pair, NUL,
  ids Python's ``int(text, 16)`` would read, dates out of range, wrong types, keys missing or
  unknown, operations of another kind.
- Central's answers: the node stops with a sync error and loses nothing.
- A coordinator's form or search carrying NUL.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest
from synckit import login

from fieldapp.extensions import db
from fieldapp.families.models import Family
from sync import errors

WEIRD = [None, True, False, 0, -1, 2**63, -(2**63) - 1, 2**70, 1.5, 1e308, "NaN", "Infinity",
         "", "x", "é" * 300, [], {}, [1, 2], {"a": 1}, "2026-13-45", "2026-01-01T00:00:00",
         "2026-01-01T00:00:00+00:00", "0x" + "ab" * 15, "00000000-0000-0000-0000-000000000000",
         "\u0000", "a\ud800b", "1e400", -0.0]
#: Raw JSON a device may write where a number was.
RAW = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"123456789012345678901234567890", b"-0"]
KEYS = ["t", "o", "i", "a", "v", "bv", "p", "d"]


def _alter(op: dict, rng: random.Random) -> dict:
    values = list(op["d"]) if isinstance(op.get("d"), dict) else []
    roll = rng.random()
    if roll < 0.45 and values:
        op["d"][rng.choice(values)] = rng.choice(WEIRD)
    elif roll < 0.6:
        op[rng.choice(KEYS)] = rng.choice(WEIRD)
    elif roll < 0.7:
        op.pop(rng.choice([key for key in op if key != "s"]), None)
    elif roll < 0.8 and values:
        op["d"].pop(rng.choice(values))
    elif roll < 0.9:
        op["o"] = rng.choice(["u", "d", "i"])
    else:
        op[rng.choice(["d", "p"])] = {rng.choice(values or ["x"]): rng.choice(WEIRD), "nope": 1}
    return op


@pytest.mark.parametrize("seed", [1, 2])
def test_randomly_altered_push_pages_never_fail_central(central, make_node, seed):
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    ids = a.add_families(c1, [{"head_given_names": f"Persona {i}", "dni": f"{44000000 + i}"}
                              for i in range(6)])
    for n, row_id in enumerate(ids[:3]):
        a.edit(Family, row_id, notes=f"nota {n}")
    templates = [json.loads(f'{{"s":0,{r["payload"][1:]}') for r in a.outbox()]
    assert {op["o"] for op in templates} == {"i", "u"}
    seq = 0
    answered = {"ok": 0, "refused": 0, "bad_body": 0}
    transport = a.transport()
    try:
        for _page in range(25):
            lines = []
            for _ in range(20):
                op = json.loads(json.dumps(rng.choice(templates)))
                seq += 1
                op["s"] = seq
                if op["o"] == "i":  # a new record
                    op["i"] = str(uuid.uuid4())
                    if op["t"] == "families":
                        op["d"].update(code=f"AM-AAA-{seq:05d}", dni=f"{45000000 + seq}")
                if rng.random() < 0.4:
                    op = _alter(op, rng)
                text = json.dumps(op, separators=(",", ":"), ensure_ascii=rng.random() < 0.5)
                if rng.random() < 0.05:
                    text = text.replace('":1,', '":' + rng.choice(RAW).decode() + ",", 1)
                lines.append(text.encode("utf-8", "surrogatepass"))
            try:
                answer = transport.post("/push", body=b"\n".join(lines),
                                        content_type="application/x-ndjson")
            except errors.BadBody:  # text that is not UTF-8: the page is refused, whole
                answered["bad_body"] += 1
                seq -= len(lines)
                continue
            assert answer["acked"] == seq
            answered["ok"] += 1
            answered["refused"] += len(answer["rejected"])
    finally:
        transport.close()
    assert answered["ok"] >= 15
    assert answered["refused"] > 20
    # What central kept reads back: records, quarantine, change log.
    assert central.count(Family) > 20
    assert len(central.rows(Family)) == central.count(Family)
    state = central.state
    assert len(central.rows(state.tables.quarantine)) >= answered["refused"]
    assert len(central.rows(state.tables.changes)) > 0


#: Odd values for the fields of a handshake, a pull or an enrolment (a few valid ones too).
ODD = [None, True, False, 0, -1, 2**31, 2**63, -(2**63) - 1, 2**70, 1.5, 1e308, float("nan"),
       float("inf"), "", "x", "é" * 300, [], {}, [1, 2], [2**70], {"a": 1}, "\u0000", "a\ud800b",
       "2999-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00", list(range(3000))]


@pytest.mark.parametrize("seed", [1, 2])
def test_randomly_altered_handshakes_pulls_and_enrolments_never_fail_central(central, seed):
    """Bodies of the other requests a device sends, valid ones with one to three fields
    altered: each answered with its outcome or a stable error code, never a 500, and the
    dashboard's node screen still shows what was kept (text and counts a database holds)."""
    from datetime import UTC, datetime

    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    client = central.app.test_client()
    code = central.register("FUZ", all_communities=True)
    enrolled = client.post("/sync/v1/enroll", json={"code": code}).get_json()
    auth = {"Authorization": f"Node {enrolled['node']['id']}:{enrolled['secret']}"}
    with central.app.app_context():
        schema = central.state.schema_version(db.session)
        db.session.rollback()
    valid = {
        "handshake": {"protocol": 1, "schema": schema, "app": "0.1", "cursor": 0, "seq": 0,
                      "acked": 0, "pending": 0, "quarantined": 0,
                      "time": datetime.now(UTC).isoformat()},
        "pull": {"cursor": 0, "limit": 100, "pending": 0, "quarantined": 0},
        "enroll": {"code": "FUZ-0000", "app": "0.1", "schema": schema},
    }
    extra = {"handshake": ["error", "error_code"], "pull": ["gap", "skip"], "enroll": []}
    statuses: dict[int, int] = {}
    for _ in range(150):
        action = rng.choice(list(valid))
        body = dict(valid[action])
        for key in rng.sample([*body, *extra[action]], rng.randint(1, 3)):
            body[key] = rng.choice(ODD)
        data = json.dumps(body).encode("utf-8", "surrogatepass")
        answer = client.post(f"/sync/v1/{action}", data=data,
                             headers={"Content-Type": "application/json", **auth})
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (action, data[:300], answer.get_data()[:300])
        assert answer.get_json() is not None  # an answer, or an error with its code
    assert statuses.get(200, 0) > 20
    coordinator = login(central.app, "coordinator")
    node_id = enrolled["node"]["id"]
    for page in ("/nodes/", f"/nodes/{node_id}", "/nodes/quarantine"):
        assert coordinator.get(page).status_code == 200, page
    from fieldapp.nodes.models import Node

    nodes = central.rows(Node)
    assert all(-(2**31) <= (n["clock_skew_s"] or 0) < 2**31 for n in nodes.values())


def _altered(value: Any, rng: random.Random) -> Any:
    """``value`` (an answer, parsed) with one part replaced by an odd value, or removed."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        if rng.random() < 0.3:
            value.pop(key)
        else:
            value[key] = _altered(value[key], rng) if rng.random() < 0.5 else rng.choice(ODD)
        return value
    if isinstance(value, list) and value and rng.random() < 0.7:
        at = rng.randrange(len(value))
        value[at] = _altered(value[at], rng) if rng.random() < 0.5 else rng.choice(ODD)
        return value
    return rng.choice([*ODD, [None], [{}], [[]]])


@pytest.mark.parametrize("central_backend", ["sqlite"])  # the node's side: one backend will do
@pytest.mark.parametrize("seed", range(5))
def test_central_answers_of_the_wrong_shape_stop_a_sync_cleanly(central, make_node,
                                                                monkeypatch, seed):
    """Answers altered at random (as a broken proxy or a buggy central might send them): a
    sync stops with a sync error (``bad_response``), never an exception of the program; the
    node keeps its changes, and syncs once answers are right again."""
    import sync.node.transport

    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    c1 = central.add_community("C1")
    nodes = [make_node(code, SYNC_PULL_PAGE_ROWS=3, SYNC_PUSH_PAGE_OPS=3)
             for code in ("AAA", "BBB")]
    ids = []
    for n, node in enumerate(nodes):
        node.enrol(central, communities=("C1",))
        node.sync()
        ids += node.add_families(c1, [{"head_given_names": f"Persona {n}{i}",
                                       "dni": f"{46000000 + 10 * n + i}"} for i in range(5)])
    right = sync.node.transport._loads
    stopped = []

    def odd(raw: bytes) -> Any:
        answer = right(raw)
        return _altered(json.loads(json.dumps(answer)), rng) if rng.random() < 0.35 else answer

    monkeypatch.setattr(sync.node.transport, "_loads", odd)
    for _ in range(5):
        for node in nodes:
            try:
                node.sync()
            except errors.SyncError as error:
                stopped.append(error.code)
    assert stopped
    monkeypatch.setattr(sync.node.transport, "_loads", right)
    for node in nodes:
        assert node.sync().ok
    assert set(ids) <= set(central.rows(Family))  # nothing of the nodes' own work was lost


def test_nul_in_a_form_or_a_search_is_dropped_on_central(central):
    """A coordinator's form or search carrying NUL (nobody types it; PostgreSQL's text cannot
    hold it, and the request failed with a 500 there): the character is dropped, the rest of
    what was sent is kept."""
    c1 = central.add_community("C1")
    client = login(central.app, "coordinator")
    saved = client.post("/families/new", data={
        "community_id": str(c1), "head_given_names": "Ana\x00 María", "head_surname": "Pérez",
        "members_count": "3"})
    assert saved.status_code == 302
    [family] = central.rows(Family).values()
    assert family["head_given_names"] == "Ana María"
    found = client.get("/families/?q=Ana%00")
    assert found.status_code == 200
    assert "Pérez" in found.get_data(as_text=True)
