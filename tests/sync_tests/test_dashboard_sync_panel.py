"""The program dashboard's sync panel, through HTTP, with real syncs between real apps: central
shows each field node's contact, pending changes, conflicts and refused records, and flags the
silent ones; a field node shows its own sync state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from synckit import family_conflict, login

from fieldapp.extensions import db
from fieldapp.nodes.models import Node as NodeRow
from sync.errors import SimulatedCrash


def _row(page: str, code: str) -> str:
    return re.search(rf'<tr data-node="{code}"[^>]*>(.*?)</tr>', page, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf"<td[^>]* data-{name}>(.*?)</td>", row, re.S).group(1).strip()


def test_central_dashboard_shows_every_node_and_flags_the_silent_ones(world, make_node):
    central, a, b = world["central"], world["a"], world["b"]
    # A conflict on B: both nodes change the same field of one family.
    family_conflict(world)
    # Refused records from B: a community outside its scope and a family in it.
    from fieldapp.communities.models import Community

    b.add(Community, id=world["c3"], code="C3", name="Comunidad C3")
    b.add_family(world["c3"])
    b.sync()
    # Changes waiting on A: it reports them, then the link drops.
    a.add_family(world["c1"])
    a.add_family(world["c1"])
    a.app.config["SYNC_FAULTS"] = {"push.before_send": 1}
    with pytest.raises(SimulatedCrash):
        a.sync()
    a.app.config["SYNC_FAULTS"] = None
    # C has not been heard from for ten days.
    c = make_node("CCC")
    c.enrol(central, communities=("C2",))
    c.sync()
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    with central.app.app_context():
        db.session.execute(
            update(NodeRow)
            .where(NodeRow.code == "CCC")
            .values(last_contact_at=ten_days_ago, last_success_at=ten_days_ago)
        )
        db.session.commit()
        from fieldapp.nodes.queries import dashboard_rows

        truth = {r["node"].code: r for r in dashboard_rows()}
        ids = {code: str(r["node"].id) for code, r in truth.items()}

    client = login(central.app, "coordinator")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "Datos de los nodos de campo" in page
    rows = {code: _row(page, code) for code in ("AAA", "BBB", "CCC")}
    # What each node holds, as central knows it (and as the nodes themselves say).
    assert _cell(rows["AAA"], "pending") == str(a.status()["pending"]) == "4"
    assert _cell(rows["BBB"], "pending") == "0"
    assert _cell(rows["BBB"], "quarantined") == str(b.status()["quarantined"]) == "3"
    assert _cell(rows["AAA"], "quarantined") == "0"
    assert _cell(rows["BBB"], "conflicts") == str(truth["BBB"]["open_conflicts"]) == "1"
    assert _cell(rows["AAA"], "conflicts") == "0"
    assert 'data-open-conflicts="1"' in page
    assert 'data-quarantined="3"' in page
    # Only C is flagged, with how long it has been silent.
    assert "data-silent" in rows["CCC"]
    assert "no se sabe de él desde hace 10 días" in rows["CCC"]
    assert "data-silent" not in rows["AAA"]
    assert "data-silent" not in rows["BBB"]
    assert re.search(r'id="silent-nodes">\s*1 nodo de campo no se comunica', page)
    # Links to the screens that act on them.
    assert 'href="/nodes/conflicts"' in page
    assert 'href="/nodes/quarantine"' in page
    assert f'href="/nodes/{ids["BBB"]}"' in page
    assert 'href="/nodes/"' in page

    # Once C syncs again it is no longer flagged.
    c.sync()
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "data-silent" not in _row(page, "CCC")
    assert 'id="silent-nodes"' not in page


def test_field_node_dashboard_shows_its_own_sync_state(world):
    a = world["a"]
    a.add_family(world["c1"])
    client = login(a.app, "coordinator")
    page = client.get("/dashboard/").get_data(as_text=True)
    panel = re.search(r'<section class="card" id="sync-panel">(.*?)</section>', page, re.S)
    panel = panel.group(1)
    assert "Sincronización con la central" in panel
    pending = re.search(r"<dd data-pending>(.*?)</dd>", panel).group(1)
    assert pending == str(a.status()["pending"]) != "0"
    assert 'href="/nodes/sync"' in panel
    assert 'id="silent-nodes"' not in panel  # it synced moments ago
    a.sync()
    page = client.get("/dashboard/").get_data(as_text=True)
    assert re.search(r"<dd data-pending>0</dd>", page)
    assert "data-node=" not in page  # no other node's rows on a field node
