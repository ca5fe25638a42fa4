"""Push pages altered at random (seeded): central answers each with its outcome or a stable
error code, never a 500, and everything it stored reads back.

The values are what a device could send: JSON's numbers without bound, NaN and infinities
(which Python reads), half of a UTF-16 pair, NUL, ids Python's ``int(text, 16)`` would read,
dates out of range, wrong types, keys missing or unknown, operations of another kind.
"""

from __future__ import annotations

import json
import random
import uuid

import pytest

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
                        op["d"].update(code=f"F-{seq:05d}", dni=f"{45000000 + seq}")
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
