"""The sync invariants under generated push pages (hypothesis): any table, column and operation,
forged ids, statuses, origins and codes. Whatever a node sends, central never answers 500, a
signed agreement's terms, content and hash never change, a status moves only along the
transition table, and every record central gained names the pushing node. What is not allowed
is quarantined with a code. (test_sync_fuzz.py alters bytes at random; this one models rules.)
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synckit import last_insert, push, signed_agreement

from fieldapp.agreements.models import Agreement
from fieldapp.agreements.rules import FROZEN_COLUMNS, TRANSITIONS, is_signed
from fieldapp.families.models import Family

STATUSES = ["draft", "signed", "active", "suspended", "completed", "terminated", "superseded"]
VALUES: dict[str, Any] = {
    "status": st.sampled_from(STATUSES),
    "voided": st.booleans(),
    "period_end": st.sampled_from(["2027-06-30", "2026-12-31"]),
    "content_hash": st.sampled_from(["0" * 64, None]),
    "signed_content": st.sampled_from([{"format": 1}, None]),
    "conflict_flag": st.sampled_from([None, "competing_version", "set_aside"]),
    "notes": st.text(max_size=5),
    "number": st.sampled_from(["AM-2026-AAA-0777", "AM-2026-BBB-0001"]),
}


@st.composite
def operations(draw: Any, world: dict[str, Any]) -> dict[str, Any]:
    a = world["a"]
    kind = draw(st.sampled_from(["u", "u", "d", "i"]))
    table = draw(st.sampled_from(["agreements", "agreements", "families", "audit_log",
                                  "commitment_types"]))
    if kind == "i":
        op = last_insert(a, table if table != "commitment_types" else "families")
        op["i"] = str(uuid.uuid4())
        if table == "families":
            op["d"]["code"] = draw(st.sampled_from(["AM-AAA-", "AM-BBB-"])) + str(
                draw(st.integers(100, 99999)))
            op["d"]["dni"] = None
        elif table == "agreements":
            op["d"].update({k: draw(VALUES[k]) for k in draw(st.sets(st.sampled_from(
                ["status", "content_hash", "signed_content", "conflict_flag"])))})
            op["d"]["number"] = f"AM-2027-{draw(st.sampled_from(['AAA', 'BBB']))}-" + str(
                draw(st.integers(100, 99999)))
            op["d"]["year"] = 2030 + draw(st.integers(0, 50))
        elif table == "commitment_types":
            op = {"t": table, "i": op["i"], "o": "i", "d": {
                "code": "x" + str(draw(st.integers(0, 9))), "text_es": "x", "text_en": "x"}}
        if table != "commitment_types":
            origin = draw(st.sampled_from(["AAA", "BBB", "nobody"]))
            column = "node_id" if table == "audit_log" else "origin_node"
            op["d"][column] = str(uuid.uuid5(uuid.NAMESPACE_DNS, origin))
        return op
    target = draw(st.sampled_from(world["targets"][table]))
    if kind == "d":
        return {"t": table, "i": str(target), "o": "d"}
    if table == "agreements":
        columns = draw(st.sets(st.sampled_from(sorted(VALUES)), min_size=1, max_size=3))
        d = {c: draw(VALUES[c]) for c in columns}
        p = {c: draw(VALUES[c]) for c in columns}
    else:
        d, p = {"notes": "cambio"}, {"notes": None}
    return {"t": table, "i": str(target), "o": "u", "d": d, "p": p}


def _snapshot(central: Any) -> dict[str, dict[Any, dict[str, Any]]]:
    return {"agreements": central.rows(Agreement), "families": central.rows(Family)}


def test_generated_pages_never_break_a_sync_invariant(signed, make_node):
    central, a = signed["central"], signed["a"]
    base = signed["agreement"]
    draft = a.add(Agreement, number="AM-2026-AAA-0009", family_id=signed["family"], year=2031,
                  period_start=signed_date(2031), period_end=signed_date(2031, 12, 31))
    amendment = signed_agreement(a, signed["family"], "AM-2026-AAA-0010", supersedes=base)
    assert a.sync().rejected == 0
    own = str(uuid.uuid5(uuid.NAMESPACE_DNS, "AAA"))
    signed["targets"] = {
        "agreements": [base, draft, amendment, uuid.uuid4()],
        "families": [signed["family"]], "audit_log": [uuid.uuid4()],
        "commitment_types": [uuid.uuid4()],
    }

    @settings(max_examples=12, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(st.lists(operations(signed), min_size=1, max_size=6))
    def check(ops: list[dict[str, Any]]) -> None:
        before = _snapshot(central)
        codes = push(a, *ops)  # a 500 raises here
        after = _snapshot(central)
        for op, code in zip(ops, codes, strict=True):
            if code:
                continue
            if op["o"] == "i" and op["t"] in after:
                row = after[op["t"]].get(uuid.UUID(op["i"]))
                assert row is None or row["origin_node"] == own
        _assert_agreements_kept(before["agreements"], after["agreements"])
        for table in ("agreements", "families"):
            for row_id in after[table].keys() - before[table].keys():
                assert after[table][row_id]["origin_node"] == own

    check()


def _assert_agreements_kept(before: dict[Any, dict], after: dict[Any, dict]) -> None:
    """Signed versions keep their terms, content, hash and central's flag; statuses move only
    along the transition table; a draft leaves draft only by being signed."""
    for row_id, old in before.items():
        new = after.get(row_id)
        if not is_signed(old):
            continue
        assert new is not None, "a signed agreement was deleted"
        for column in FROZEN_COLUMNS:
            assert new[column] == old[column], column
        # Central flags competing versions itself; a node never clears its flag.
        assert old["conflict_flag"] is None or new["conflict_flag"] == old["conflict_flag"]
        if new["status"] != old["status"]:
            assert new["status"] in TRANSITIONS[old["status"]] or (
                new["status"] == "superseded" and old["status"] in ("signed", "active"))
    for row_id, new in after.items():
        old = before.get(row_id)
        if old is not None and old["status"] == "draft" and new["status"] != "draft":
            assert new["status"] == "signed"
            assert new["content_hash"]


def signed_date(year: int, month: int = 1, day: int = 1) -> Any:
    from datetime import date

    return date(year, month, day)
