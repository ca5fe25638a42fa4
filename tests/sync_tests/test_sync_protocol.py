"""Enrolment, credentials, versions, scope and quarantine, clocks, and the commit-ordered
pull cursor under a concurrent writer on central."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest
from sqlalchemy import text
from synckit import assert_converged

from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.nodes.models import Node as NodeRow
from sync import errors
from sync.node.transport import enrol


def test_enrolment_exchanges_a_one_time_code_for_a_credential_kept_hashed(central, make_node):
    central.add_community("C1")
    code = central.register("AAA", ("C1",))
    a = make_node("AAA")
    with a.app.app_context(), pytest.raises(errors.EnrolmentRefused):
        enrol(a.state, central.url, code[:-1] + ("X" if code[-1] != "X" else "Y"))
    with a.app.app_context():
        creds = enrol(a.state, central.url, code)
    path = os.path.join(a.app.instance_path, "sync.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    [row] = central.rows(NodeRow).values()
    assert row["credential_hash"].startswith("sha256$")
    assert creds["secret"] not in row["credential_hash"]
    assert row["enrol_code_hash"] is None  # used up
    other = make_node("AAB")
    with other.app.app_context(), pytest.raises(errors.EnrolmentRefused):
        enrol(other.state, central.url, code)
    assert a.sync().ok
    assert a.count(Community) == 1


def test_a_revoked_node_is_refused_and_keeps_its_changes(world):
    central, a = world["central"], world["a"]
    a.add_family(world["c1"])
    with central.app.app_context():
        from fieldapp.nodes.operations import revoke_node

        node = db.session.execute(db.select(NodeRow).where(NodeRow.code == "AAA")).scalar_one()
        revoke_node(node)
        db.session.commit()
    with pytest.raises(errors.NodeRevoked):
        a.sync()
    status = a.status()
    assert status["pending"] == 2  # the family and its audit entry stay in the outbox
    assert status["last_error"]["code"] == "node_revoked"
    assert central.count(Family) == 0


@pytest.mark.parametrize("ahead", ["node", "central"])
def test_a_schema_version_mismatch_either_way_is_refused_and_the_outbox_kept(world, ahead):
    central, a = world["central"], world["a"]
    a.add_family(world["c1"])
    side = a if ahead == "node" else central
    with side.app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
        db.session.commit()
    with pytest.raises(errors.SchemaMismatch) as refused:
        a.sync()
    assert refused.value.details["node" if ahead == "node" else "central"] == "0099_future"
    assert a.status()["pending"] == 2
    assert a.status()["last_error"]["code"] == "schema_mismatch"
    [row] = [n for n in central.rows(NodeRow).values() if n["code"] == "AAA"]
    assert row["last_error_code"] == "schema_mismatch"
    assert central.count(Family) == 0


def test_another_protocol_version_is_refused(world):
    a = world["a"]
    transport = a.transport()
    with pytest.raises(errors.ProtocolUnsupported):
        transport.post("/handshake", {"protocol": 2, "schema": "0002_sync"})
    transport.close()


def test_records_out_of_scope_are_quarantined_without_blocking_the_queue(world):
    central, a = world["central"], world["a"]
    # The node serves C1 only: a family of C3 (its community row exists on the node, e.g.
    # from an old setup) is refused with its reason, the families of C1 go through.
    a.add(Community, id=world["c3"], code="C3", name="Comunidad C3")
    ok_before = a.add_family(world["c1"], head_given_names="Antes")
    outside = a.add_family(world["c3"], head_given_names="Fuera")
    ok_after = a.add_family(world["c1"], head_given_names="Después")
    report = a.sync()
    codes = sorted(r["code"] for r in report.rejections)
    # The community and the family are out of scope; the family's audit entry (it names the
    # family) waits for its refused parent.
    assert codes == ["missing_parent", "out_of_scope", "out_of_scope"]
    assert central.get(Family, ok_before)
    assert central.get(Family, ok_after)
    assert central.get(Family, outside) is None
    assert a.status()["quarantined"] == 3
    assert a.status()["pending"] == 0
    held = [r for r in a.outbox() if r["status"] == "quarantined"]
    assert {r["error_code"] for r in held} == {"out_of_scope", "missing_parent"}
    assert all(r["status"] != "acked" for r in held)  # never reported as synced
    on_central = [q for q in central.rows(central.state.tables.quarantine).values()]
    assert sorted(q["code"] for q in on_central) == codes
    assert a.sync().ok  # and the queue keeps moving


def test_clocks_order_nothing_and_skewed_clocks_are_flagged(world, make_node):
    central, a, b = world["central"], world["a"], world["b"]
    year = 365 * 24 * 3600
    c = make_node("CCC")
    c.enrol(central, communities=("C1",))
    family = a.add_family(world["c1"], phone="900000000")
    a.sync()
    b.sync()
    c.sync()
    a.app.config["SYNC_CLOCK_OFFSET"] = -56 * year  # a node in 1970
    b.app.config["SYNC_CLOCK_OFFSET"] = year  # one a year ahead
    a.edit(Family, family, phone="911111111")
    b.edit(Family, family, notes="adelantado")
    a.sync()
    b.sync()
    merged = central.get(Family, family)
    assert (merged["phone"], merged["notes"]) == ("911111111", "adelantado")
    # Same field: the first to reach central stays, whatever the clocks say.
    b.edit(Family, family, members_count=8)
    a.edit(Family, family, members_count=2)
    b.sync()
    a.sync()
    assert central.get(Family, family)["members_count"] == 8
    # A clock jumping back: the later edit still wins, in the node's order.
    c.edit(Family, family, plot_name="Primero")
    c.app.config["SYNC_CLOCK_OFFSET"] = -2 * 24 * 3600
    c.edit(Family, family, plot_name="Después del salto")
    c.sync()
    assert central.get(Family, family)["plot_name"] == "Después del salto"
    for node in (a, b, c):
        node.sync()
    for node in (a, b, c):
        assert_converged(central, node)
    nodes = {n["code"]: n for n in central.rows(NodeRow).values()}
    assert nodes["AAA"]["clock_skew_s"] < -50 * year
    assert nodes["BBB"]["clock_skew_s"] > 0.9 * year
    assert nodes["CCC"]["clock_skew_s"] < -24 * 3600
    pushes = [r for r in central.rows(central.state.tables.log).values() if r["action"] == "push"]
    skewed = {}
    for r in pushes:
        code = [n["code"] for n in nodes.values() if n["id"] == r["node_id"]][0]
        skewed[code] = skewed.get(code, 0) + r["detail"]["skewed"]
    assert skewed["AAA"] >= 2
    assert skewed["BBB"] >= 2


def test_the_pull_cursor_never_skips_a_change_committed_late(world):
    """A slow writer on central takes its number, then commits after a faster writer: a pull
    in between must not move the cursor past the slow writer's change."""
    central, a, b = world["central"], world["a"], world["b"]
    slow_family = a.add_family(world["c1"], head_given_names="Lenta")
    fast_family = a.add_family(world["c1"], head_given_names="Rápida")
    a.sync()
    b.sync()
    numbered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        if threading.current_thread().name == "slow":
            numbered.set()
            release.wait(10)

    central.app.config["SYNC_FAULTS"] = {"central.changelog_numbered": hold}
    errors_seen: list[BaseException] = []

    def write(name: str, family_id, notes: str) -> None:
        try:
            central.edit(Family, family_id, notes=notes)
        except BaseException as error:  # pragma: no cover - reported below
            errors_seen.append(error)

    slow = threading.Thread(target=write, args=("slow", slow_family, "lenta"), name="slow")
    slow.start()
    assert numbered.wait(10)
    fast = threading.Thread(target=write, args=("fast", fast_family, "rápida"), name="fast")
    fast.start()
    time.sleep(0.3)  # the fast writer is now waiting for the counter (or has committed)
    b.sync()  # pulls while the slow writer holds its number
    release.set()
    slow.join(10)
    fast.join(10)
    central.app.config["SYNC_FAULTS"] = None
    assert not errors_seen
    b.sync()
    assert b.get(Family, slow_family)["notes"] == "lenta"
    assert b.get(Family, fast_family)["notes"] == "rápida"
    assert_converged(central, b)
