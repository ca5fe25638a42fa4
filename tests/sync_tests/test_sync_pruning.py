"""The node's outbox does not grow for ever: acknowledged operations are pruned."""

from __future__ import annotations

from fieldapp.communities.models import Community
from fieldapp.families.models import Family


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


def test_acknowledged_operations_stay_while_they_are_recent(world):
    central, a = world["central"], world["a"]
    a.add_family(world["c1"], head_given_names="Reciente")
    assert a.sync().ok
    assert {r["status"] for r in a.outbox()} == {"acked"}  # default: kept 30 days
    a.app.config["SYNC_CLOCK_OFFSET"] = 31 * 24 * 3600  # a month later
    assert a.sync().ok
    assert a.outbox() == []
    assert central.count(Family) == a.count(Family)
