"""What central accepts of a ``/sync/v1`` request before acting on it (``sync/central/intake.py``).

- No credential, or a credential of the wrong shape: 401 before the body is read, let alone
  inflated (a 64 KB gzip bomb posted by anyone cost central 1.6 GB and 10 s a worker).
- Bodies within their route's limit (``SYNC_MAX_SMALL_BODY`` for enrolment, handshake and
  pull; ``SYNC_MAX_INFLATED`` for a push page), before and after gzip: 413 ``too_large``.
- JSON nested deeper than ``sync.wire.MAX_DEPTH``: 400 ``bad_body``, never a RecursionError.
- Numbers a column is compared with, past its range: 400 ``bad_body``, never a database error.
- Against gunicorn: an unauthenticated bomb costs a worker no memory and no time.

``test_sync_fuzz.py`` posts randomly altered bodies; these are the bodies made to hurt.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from fieldapp.extensions import db
from sync import wire
from sync.storage.codec import INT_MAX
from testing.servers import Gunicorn

#: The deepest nesting central reads (``sync.wire.MAX_DEPTH``; as documented, not imported).
DEPTH = 32

#: ``[[],[],…]``: a few MB of JSON that gzip packs a thousand to one.
BOMB_JSON = b"[" + b"[]," * 2_000_000 + b"[]]"


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return wire.gzip(BOMB_JSON, 9)


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the gzip bodies central inflated during the test."""
    sizes: list[int] = []
    real = wire.gunzip

    def spy(data: bytes, limit: int = 0) -> tuple[bytes, bool]:
        sizes.append(len(data))
        return real(data, limit)

    monkeypatch.setattr(wire, "gunzip", spy)
    return sizes


@pytest.fixture
def node_auth(central: Any) -> dict[str, str]:
    """An enrolled node's credential header (every community)."""
    client = central.app.test_client()
    code = central.register("LIM", all_communities=True)
    enrolled = client.post("/sync/v1/enroll", json={"code": code}).get_json()
    return {"Authorization": f"Node {enrolled['node']['id']}:{enrolled['secret']}"}


def _schema(central: Any) -> str:
    with central.app.app_context():
        schema = central.state.schema_version(db.session)
        db.session.rollback()
    return schema


def _post(central: Any, action: str, data: bytes, gzip: bool = False,
          **headers: str) -> tuple[int, dict[str, Any]]:
    if gzip:
        headers["Content-Encoding"] = "gzip"
    answer = central.app.test_client().post(
        f"/sync/v1/{action}", data=data,
        headers={"Content-Type": "application/json", **headers})
    return answer.status_code, answer.get_json()


def _code(answer: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    status, body = answer
    return status, body["error"]["code"]


def _handshake(central: Any, **fields: Any) -> dict[str, Any]:
    return {"protocol": 1, "schema": _schema(central), "app": "0.1", "seq": 0, "acked": 0,
            "cursor": 0, "pending": 0, "quarantined": 0, **fields}


NO_CREDENTIALS = [
    {},
    {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
    {"Authorization": "Node "},
    {"Authorization": "Node not-a-uuid:secret"},
    {"Authorization": f"Node {uuid.uuid4()}:{'x' * 6000}"},
    {"Authorization": "Node " + "0" * 6000 + ":secret"},
    {"Authorization": f"Node {uuid.uuid4()}:secret"},  # well formed, no such node
]


@pytest.mark.parametrize("action", ["handshake", "pull", "push"])
def test_a_request_without_a_valid_credential_is_refused_before_its_body_is_read(
        central, bomb, inflated, action):
    for headers in NO_CREDENTIALS:
        status, code = _code(_post(central, action, bomb, gzip=True, **headers))
        assert (status, code) in {(401, "unknown_node"), (401, "bad_credential")}, headers
    assert inflated == []


def test_a_wrong_secret_is_refused_before_the_body_is_read(central, node_auth, bomb, inflated):
    node_id = node_auth["Authorization"].split()[1].split(":")[0]
    wrong = {"Authorization": f"Node {node_id}:{'A' * 43}"}
    for action in ("handshake", "pull", "push"):
        assert _code(_post(central, action, bomb, gzip=True, **wrong)) == (
            401, "bad_credential")
    assert inflated == []


def test_an_enrolment_body_past_the_small_limit_is_refused_whatever_its_packing(central, bomb):
    """Nobody is known before enrolment: its body gets the small limit, gzip or not."""
    assert _code(_post(central, "enroll", bomb, gzip=True)) == (413, "too_large")
    padded = json.dumps({"code": "LIM-0000", "app": "x" * 9000}).encode()
    assert _code(_post(central, "enroll", padded)) == (413, "too_large")
    assert _code(_post(central, "enroll", wire.gzip(padded), gzip=True)) == (413, "too_large")


def test_an_authenticated_handshake_or_pull_past_the_small_limit_is_refused(central, node_auth,
                                                                           bomb):
    padded = json.dumps(_handshake(central, app="x" * 9000)).encode()
    for data, gzip in ((padded, False), (wire.gzip(padded), True), (bomb, True)):
        assert _code(_post(central, "handshake", data, gzip, **node_auth)) == (413, "too_large")
        assert _code(_post(central, "pull", data, gzip, **node_auth)) == (413, "too_large")
    # A real one is a few hundred bytes, far under it.
    real = json.dumps(_handshake(central)).encode()
    assert len(real) < 400
    assert _post(central, "handshake", real, **node_auth)[0] == 200


def test_the_small_limit_is_a_setting(make_central):
    central = make_central(SYNC_MAX_SMALL_BODY=200)
    padded = json.dumps({"code": "LIM-0000", "app": "x" * 300}).encode()
    assert _code(_post(central, "enroll", padded)) == (413, "too_large")
    assert _code(_post(central, "enroll", b'{"code": "LIM-0000"}')) == (403, "enrolment_refused")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 1000, 3000])
def test_json_nested_too_deep_is_a_bad_body_on_every_route(central, node_auth, depth):
    deep = _nested(depth)
    handshake = json.dumps(_handshake(central, app="@")).replace('"@"', deep).encode()
    assert _code(_post(central, "handshake", handshake, **node_auth)) == (400, "bad_body")
    pull = b'{"cursor": 0, "pending": %s}' % deep.encode()
    assert _code(_post(central, "pull", pull, **node_auth)) == (400, "bad_body")
    enroll = b'{"code": "LIM-0000", "app": %s}' % deep.encode()
    assert _code(_post(central, "enroll", enroll)) == (400, "bad_body")
    line = b'{"s":1,"t":"families","o":"i","i":"%s","d":{"notes":%s}}' % (
        str(uuid.uuid4()).encode(), deep.encode())
    assert _code(_post(central, "push", line, **node_auth)) == (400, "bad_body")


def test_a_push_page_of_brackets_is_a_bad_body(central, node_auth):
    """``[`` × 200,000: a RecursionError (500) when the standard library read it."""
    for data in (b"[" * 200_000, b'{"s":1,"d":' + b"[" * 200_000):
        status, code = _code(_post(central, "push", data, **node_auth))
        assert (status, code) == (400, "bad_body")
        status, code = _code(_post(central, "push", wire.gzip(data), True, **node_auth))
        assert (status, code) == (400, "bad_body")


def test_one_deep_line_among_many_refuses_the_page_and_applies_nothing(central, node_auth):
    def line(seq: int, notes: str) -> bytes:
        return json.dumps({"s": seq, "t": "families", "o": "u", "i": str(uuid.uuid4()),
                           "d": {"notes": notes}}).encode()

    lines = [line(seq, "[{" * 40) for seq in range(1, 200)]  # brackets in text: no nesting
    lines[150] = line(151, "@").replace(b'"@"', _nested(DEPTH).encode())
    assert _code(_post(central, "push", b"\n".join(lines), **node_auth)) == (400, "bad_body")
    lines[150] = line(151, "@").replace(b'"@"', _nested(DEPTH - 3).encode())
    status, answer = _post(central, "push", b"\n".join(lines), **node_auth)
    assert (status, answer["acked"]) == (200, 199)


def test_nesting_up_to_the_limit_is_accepted(central, node_auth):
    """Strings are not nesting: brackets inside text count for nothing."""
    brackets = "[" * 40 + '\\"{' * 40
    body = json.dumps(_handshake(central, app=brackets, error=[[[[[[1]]]]]])).encode()
    assert _post(central, "handshake", body, **node_auth)[0] == 200
    line = json.dumps({"s": 1, "t": "families", "o": "u", "i": str(uuid.uuid4()),
                       "d": {"notes": _nested(DEPTH - 3)}}).encode()
    assert _post(central, "push", line, **node_auth)[0] == 200


HUGE = [2**63, 2**70, -1, -(2**70), True, 1.5, "1"]


def test_numbers_past_their_column_are_a_bad_body(central, node_auth):
    """Cursor, gap, skip and limit of a pull, seq, acked and cursor of a handshake: each
    compared with a 64-bit column (``bigint out of range`` on PostgreSQL, OverflowError on
    SQLite when it reached the query)."""
    for value in HUGE:
        for body in ({"cursor": value}, {"cursor": 0, "gap": [0, value]},
                     {"cursor": 0, "gap": [value, 5]}, {"cursor": 0, "limit": value},
                     {"cursor": 0, "skip": value}):
            data = json.dumps(body).encode()
            assert _code(_post(central, "pull", data, **node_auth)) == (400, "bad_body"), body
        for key in ("seq", "acked", "cursor"):
            data = json.dumps(_handshake(central, **{key: value})).encode()
            assert _code(_post(central, "handshake", data, **node_auth)) == (
                400, "bad_body"), (key, value)
    for gap in ([-(2**70), 2**70], [5, 4], [1], [1, 2, 3], "1-2", {"a": 1}):
        data = json.dumps({"cursor": 0, "gap": gap}).encode()
        assert _code(_post(central, "pull", data, **node_auth)) == (400, "bad_body"), gap
    ok = json.dumps({"cursor": INT_MAX, "gap": [0, INT_MAX], "limit": INT_MAX}).encode()
    assert _post(central, "pull", ok, **node_auth)[0] == 200


def test_push_numbers_past_64_bits_are_a_bad_body_and_the_hint_header_is_bounded(central,
                                                                                 node_auth):
    for seq in (2**63, 2**64 - 1, 2**70):
        line = b'{"s":%d,"t":"families","o":"u","i":"%s","d":{}}' % (seq,
                                                                    str(uuid.uuid4()).encode())
        assert _code(_post(central, "push", line, **node_auth)) == (400, "bad_body"), seq
    line = b'{"s":1,"t":"families","o":"u","i":"%s","d":{"notes":"x"}}' % (
        str(uuid.uuid4()).encode())
    for hint in ("9" * 5000, "0" * 30, "-1", "１", "²"):
        status, answer = _post(central, "push", line, **node_auth, **{"X-Sync-After": hint})
        assert status == 200, (hint, answer)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.slow
def test_an_unauthenticated_gzip_bomb_costs_a_gunicorn_worker_neither_memory_nor_time(
        tmp_path, migrated_db, bomb):
    """The finding as it was seen: central under gunicorn, gzip bombs (61 KB inflating to
    63 MB of ``[[],[],…]``, as in the report, and this file's smaller one) posted without a
    credential, or with an unknown one, to every route. The worker's peak memory grows by
    less than 50 MB and every answer comes within a second (before: 10-14 s and +1.6 GB a
    request)."""
    import http.client
    import shutil

    instance = tmp_path / "central"
    instance.mkdir()
    shutil.copy(migrated_db, instance / "fieldapp.sqlite")
    big = wire.gzip(b"[" + b"[]," * 21_000_000 + b"[]]", 9)
    assert len(big) < 64 * 1024
    server = Gunicorn({
        "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(instance),
        "FIELDAPP_SECRET_KEY": "test", "FIELDAPP_AUTO_MIGRATE": "false",
    }, workers=1, threads=2)

    def post(action: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            started = time.monotonic()
            conn.request("POST", f"/sync/v1/{action}", body=body, headers={
                "Content-Type": "application/json", **headers})
            response = conn.getresponse()
            json.loads(response.read())
            return response.status, time.monotonic() - started
        finally:
            conn.close()

    try:
        [worker] = _children(server.process.pid)
        assert post("handshake", b"{}", {})[0] == 401  # the worker has served a request
        before = _memory_kb(worker, "VmHWM")
        slowest = 0.0
        for action in ("handshake", "pull", "push", "enroll"):
            for body in (big, bomb):
                for credential in ({}, {"Authorization": f"Node {uuid.uuid4()}:secret"}):
                    status, seconds = post(action, body, {"Content-Encoding": "gzip",
                                                          **credential})
                    assert status == (413 if action == "enroll" else 401), action
                    assert seconds < 1, (action, seconds)
                    slowest = max(slowest, seconds)
        grown_mb = (_memory_kb(worker, "VmHWM") - before) / 1024
        print(f"\n16 bombs refused, the slowest in {slowest:.3f} s; worker's peak RSS "
              f"{before / 1024:.0f} MB, grown by {grown_mb:.1f} MB")
        assert grown_mb < 50, grown_mb
    finally:
        server.stop()
