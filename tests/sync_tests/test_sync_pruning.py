"""The node's outbox does not grow for ever: acknowledged operations are pruned."""

from __future__ import annotations

import uuid

from fieldapp.communities.models import Community
from fieldapp.families.models import Family
from sync.node.transport import load_credentials


def test_acknowledged_operations_are_pruned_and_refused_ones_kept(world):
    central, a = world["central"], world["a"]
    a.app.config["SYNC_OUTBOX_KEEP_DAYS"] = 0
    a.add(Community, id=world["c3"], code="C3", name="Comunidad C3")  # outside its scope
    kept = a.add_family(world["c1"], head_given_names="Dentro")
    outside = a.add_family(world["c3"], head_given_names="Fuera")
    report = a.sync()
    assert report.ok
    assert report.rejected > 0
    left = a.outbox()
    assert left  # what central refused stays, with its reason, for the person to decide
    assert {r["status"] for r in left} == {"quarantined"}
    assert all(r["error_code"] for r in left)
    assert a.status()["quarantined"] == len(left)
    assert central.get(Family, kept)
    assert central.get(Family, outside) is None

    # Numbering goes on after the pruned operations: central sees no gap and no reuse.
    top = max(r["seq"] for r in left)
    later = a.add_family(world["c1"], head_given_names="Después")
    assert min(r["seq"] for r in a.outbox() if r["status"] == "pending") > top
    report = a.sync()
    assert report.ok
    assert report.rejected == 0
    assert central.get(Family, later)
    assert {r["status"] for r in a.outbox()} == {"quarantined"}
    assert [r["seq"] for r in a.outbox()] == [r["seq"] for r in left]
    # The pruned operations' payloads went with them; the kept ones' stayed.
    assert sorted(a.rows(a.state.tables.outbox_payloads)) == [r["seq"] for r in left]


def test_acknowledged_operations_stay_while_they_are_recent(world):
    central, a = world["central"], world["a"]
    a.add_family(world["c1"], head_given_names="Reciente")
    assert a.sync().ok
    assert {r["status"] for r in a.outbox()} == {"acked"}  # default: kept 30 days
    a.app.config["SYNC_CLOCK_OFFSET"] = 31 * 24 * 3600  # a month later
    assert a.sync().ok
    assert a.outbox() == []
    assert a.rows(a.state.tables.outbox_payloads) == {}
    assert central.count(Family) == a.count(Family)


def test_the_sync_log_keeps_each_nodes_newest_entries(world):
    """Central logs every request of every node and a node every sync; each keeps the newest
    ``SYNC_LOG_KEEP`` entries per node (the screens show the latest hundred)."""
    central, a, b = world["central"], world["a"], world["b"]
    for app in (central.app, a.app):
        app.config["SYNC_LOG_KEEP"] = 4
    log = central.state.tables.log
    for n in range(6):
        a.add_family(world["c1"], head_given_names=f"F{n}")
        assert a.sync().ok
        assert b.sync().ok

    def entries(node, node_id):
        return sorted((r for r in node.rows(log).values() if r["node_id"] == node_id),
                      key=lambda r: r["id"])

    own = entries(a, None)
    assert 4 <= len(own) < 8  # trimmed once every 4 entries, newest kept
    assert own[-1]["detail"]["pushed"] == 2  # the last sync: a family and its audit entry
    a_id, b_id = (uuid.UUID(load_credentials(n.state)["node_id"]) for n in (a, b))
    on_central = entries(central, a_id)
    assert 4 <= len(on_central) < 8
    assert on_central[-1]["action"] == "pull"
    assert len(entries(b, None)) == 7  # b's own syncs, untrimmed (its limit is the default)
    assert len(entries(central, b_id)) >= 4  # another node's part is trimmed on its own
