"""Central's change log is compacted: superseded upserts go, every node still converges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from synckit import Node, assert_converged

from fieldapp.extensions import db
from fieldapp.families.models import Family


def _entries(central: Any, row_id: Any) -> list[str]:
    ch = central.state.tables.changes
    with central.app.app_context():
        ops = list(db.session.scalars(
            select(ch.c.op).where(ch.c.row_id == row_id).order_by(ch.c.server_seq)))
        db.session.rollback()
    return ops


def _total(central: Any) -> int:
    ch = central.state.tables.changes
    with central.app.app_context():
        return db.session.scalar(select(func.count()).select_from(ch))


def _edit_on_central(central: Any, family_id: Any, phone: str) -> None:
    with central.app.app_context():
        family = db.session.get(Family, family_id)
        family.phone = phone
        db.session.commit()


def test_superseded_entries_go_and_every_node_still_converges(
        world: dict[str, Any], make_node: Callable[..., Node]) -> None:
    central, a, b = world["central"], world["a"], world["b"]
    kept = a.add_family(world["c1"], head_given_names="Rosa", head_surname="Compacta")
    removed = a.add_family(world["c1"], head_given_names="Luz", head_surname="Borrada")
    assert a.sync().ok
    assert b.sync().ok  # B's cursor: before the edits below
    for phone in ("911111111", "922222222", "933333333"):
        _edit_on_central(central, kept, phone)
    with central.app.app_context():
        db.session.delete(db.session.get(Family, removed))
        db.session.commit()
    assert _entries(central, kept) == ["u", "u", "u", "u"]

    runner = central.app.test_cli_runner()
    recent = runner.invoke(args=["node", "compact-log"])  # all are recent: nothing goes
    assert recent.exit_code == 0, recent.output
    assert "0 superseded entries deleted" in recent.output
    assert _entries(central, kept) == ["u", "u", "u", "u"]

    before = _total(central)
    result = runner.invoke(args=["node", "compact-log", "--keep-days", "0"])
    assert result.exit_code == 0, result.output
    assert _entries(central, kept) == ["u"]  # the newest upsert
    assert _entries(central, removed) == ["d"]  # the deletion, not the row's upserts
    deleted = before - _total(central)
    assert deleted >= 4
    assert f": {deleted} superseded entries deleted" in result.output

    # B (cursor before the edits), A, and a node enrolled now all hold the row as it is now.
    assert b.sync().ok
    assert a.sync().ok
    late = make_node("LATE")
    late.enrol(central, communities=("C1",))
    assert late.sync().ok
    for node in (a, b, late):
        assert_converged(central, node)
        assert node.get(Family, kept)["phone"] == "933333333"
        assert node.get(Family, removed) is None
    # Nothing left to compact; numbers were not reused: the next change continues the log.
    again = runner.invoke(args=["node", "compact-log", "--keep-days", "0"])
    assert "0 superseded entries deleted" in again.output
    ch = central.state.tables.changes
    with central.app.app_context():
        top = db.session.scalar(select(func.max(ch.c.server_seq)))
    _edit_on_central(central, kept, "944444444")
    with central.app.app_context():
        assert db.session.scalar(select(func.max(ch.c.server_seq))) > top
    assert b.sync().ok
    assert b.get(Family, kept)["phone"] == "944444444"


def test_compaction_is_central_only_and_refuses_a_negative_window(world: dict[str, Any]) -> None:
    node_cli = world["a"].app.test_cli_runner()
    refused = node_cli.invoke(args=["node", "compact-log"])
    assert refused.exit_code != 0
    assert "runs on central" in refused.output
    negative = world["central"].app.test_cli_runner().invoke(
        args=["node", "compact-log", "--keep-days", "-1"])
    assert negative.exit_code == 2
    assert "Traceback" not in negative.output



def test_a_node_between_centrals_change_and_its_own_still_receives_centrals(
        world: dict[str, Any]) -> None:
    """Central changes a family's phone; node A, which has not pulled that yet, changes its
    given names and pushes. A node never receives its own change back: either central's entry
    stays for A, or A's entry (central merged the phone into it) is sent back to A. Compacted
    right after A's push, before A pulls, A still ends with both changes."""
    from sync.central.compact import compact_changes

    central, a = world["central"], world["a"]
    family = a.add_family(world["c1"], head_given_names="Rosa", head_surname="Entre")
    assert a.sync().ok
    _edit_on_central(central, family, "955555555")
    with a.app.app_context():
        row = db.session.get(Family, family)
        row.head_given_names = "Rosa Elena"
        db.session.commit()

    def compact_now() -> None:  # in central's request, after A's page is committed
        compact_changes(central.state, db.session, 0)
        db.session.commit()

    central.app.config["SYNC_FAULTS"] = {"central.push.after_commit": compact_now}
    try:
        assert a.sync().ok
    finally:
        central.app.config["SYNC_FAULTS"] = None
    assert a.get(Family, family)["phone"] == "955555555"
    assert a.get(Family, family)["head_given_names"] == "Rosa Elena"
    assert_converged(central, a)
