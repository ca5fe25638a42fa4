"""The coordinator's screens on central (dashboard, node log, conflicts, refused records, node
registration) and the field node's sync page, badge and "Sync now" — in Spanish."""

from __future__ import annotations

import re

import pytest
from synckit import family_conflict, login, wait_for

from fieldapp.families.models import Family
from fieldapp.nodes.models import Node as NodeRow
from sync import errors
from sync.errors import SimulatedCrash


def test_the_dashboard_shows_what_the_nodes_hold(world):
    central, a, b = world["central"], world["a"], world["b"]
    a.add_family(world["c1"])
    a.add_family(world["c1"])
    a.app.config["SYNC_FAULTS"] = {"push.before_send": 1}  # contact, then the link drops
    with pytest.raises(SimulatedCrash):
        a.sync()
    a.app.config["SYNC_FAULTS"] = None
    from fieldapp.communities.models import Community

    b.add(Community, id=world["c3"], code="C3", name="Comunidad C3")  # out of B's scope
    b.add_family(world["c3"])
    b.sync()
    client = login(central.app, "coordinator")
    page = client.get("/nodes/").get_data(as_text=True)
    assert "Sincronización de los nodos de campo" in page

    def figure(code: str, name: str) -> str:
        row = re.search(rf'<tr data-node="{code}">(.*?)</tr>', page, re.S).group(1)
        return re.search(rf"<td class=\"num\" data-{name}>(.*?)</td>", row).group(1)

    assert figure("AAA", "pending") == str(a.status()["pending"]) == "4"
    assert figure("BBB", "pending") == str(b.status()["pending"]) == "0"
    # the community, the family and the family's audit entry (which waits for its family)
    assert figure("BBB", "quarantined") == str(b.status()["quarantined"]) == "3"
    node_b = [n for n in central.rows(NodeRow).values() if n["code"] == "BBB"][0]
    detail = client.get(f"/nodes/{node_b['id']}").get_data(as_text=True)
    assert "Pertenece a una comunidad que este nodo no atiende." in detail
    assert "cambios recibidos" in detail  # the per-node sync log
    refused = client.get("/nodes/quarantine").get_data(as_text=True)
    assert refused.count("out_of_scope") == 2
    field_staff = login(central.app, "field_staff")
    assert field_staff.get("/nodes/").status_code == 403


def test_a_coordinator_resolves_a_conflict_and_it_syncs_back(world):
    central, a, b = world["central"], world["a"], world["b"]
    family = family_conflict(world)
    client = login(central.app, "coordinator")
    listing = client.get("/nodes/conflicts").get_data(as_text=True)
    conflict_id = re.search(r"/nodes/conflicts/(\d+)", listing).group(1)
    page = client.get(f"/nodes/conflicts/{conflict_id}").get_data(as_text=True)
    assert 'data-side="central"><strong>5<' in page
    assert 'data-side="node"><strong>9<' in page
    bad = client.post(f"/nodes/conflicts/{conflict_id}",
                      data={"choice": "other", "value": "muchos"})
    assert bad.status_code == 422
    assert "Este valor no corresponde al campo." in bad.get_data(as_text=True)
    done = client.post(f"/nodes/conflicts/{conflict_id}", data={"choice": "node"})
    assert done.status_code == 302
    assert central.get(Family, family)["members_count"] == 9
    a.sync()
    b.sync()
    assert a.get(Family, family)["members_count"] == b.get(Family, family)["members_count"] == 9
    assert "Ningún conflicto por resolver." in client.get("/nodes/conflicts").get_data(as_text=True)


def test_an_admin_registers_a_node_that_enrols_and_syncs_from_the_command_line(central,
                                                                                 make_node):
    central.add_community("C1")
    admin = login(central.app, "admin")
    form = admin.get("/nodes/new").get_data(as_text=True)
    community = re.search(r'<option value="([0-9a-f-]{36})">Comunidad C1</option>', form).group(1)
    answer = admin.post("/nodes/new", data={"name": "Nodo Aguas Verdes", "code": "gvt",
                                            "communities": [community]})
    page = answer.get_data(as_text=True)
    code = re.search(r'id="enrolment-code">([A-Z0-9-]+)<', page).group(1)
    assert code.startswith("GVT-")
    assert admin.post("/nodes/new", data={"name": "Otro", "code": "GVT",
                                          "communities": [community]}).status_code == 422
    node = make_node("TMP")
    runner = node.app.test_cli_runner()
    result = runner.invoke(args=["node", "enroll", "--central", central.url, "--code", code])
    assert result.exit_code == 0, result.output
    assert "GVT" in result.output
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 0, result.output
    assert "synced" in result.output
    result = runner.invoke(args=["node", "status"])
    assert "pending: 0" in result.output
    again = runner.invoke(args=["node", "enroll", "--central", central.url, "--code", code])
    assert again.exit_code != 0
    assert "enrolment_refused" in again.output

    row = [n for n in central.rows(NodeRow).values() if n["code"] == "GVT"][0]
    revoked = admin.post(f"/nodes/{row['id']}/revoke")
    assert revoked.status_code == 302
    failed = runner.invoke(args=["sync"])
    assert failed.exit_code == 1
    assert "node_revoked" in failed.output


def test_the_field_node_page_syncs_now_and_says_why_it_could_not(world):
    central, a = world["central"], world["a"]
    a.add_family(world["c1"])
    client = login(a.app, "field_staff")
    page = client.get("/nodes/sync").get_data(as_text=True)
    assert "Sincronizar ahora" in page
    assert re.search(r"data-pending>2<", page)
    assert 'class="sync-badge sync-pending"' in page  # the badge in the top bar
    assert client.post("/nodes/sync").status_code == 302
    wait_for(lambda: a.status()["pending"] == 0 and not a.status()["syncing"])
    assert central.count(Family) == 1
    page = client.get("/nodes/sync").get_data(as_text=True)
    assert 'class="sync-badge sync-ok"' in page
    assert "Sincronizado" in page

    central.server.stop()  # central goes away
    a.add_family(world["c1"])
    before = a.status()["last_attempt_at"]
    client.post("/nodes/sync")
    wait_for(lambda: a.status()["last_attempt_at"] != before and not a.status()["syncing"])
    page = client.get("/nodes/sync").get_data(as_text=True)
    assert "La central no respondió" in page
    assert 'class="sync-badge sync-error"' in page
    assert re.search(r"data-pending>2<", page)


def test_a_refused_record_is_corrected_and_sent_again_from_the_node_page(world):
    central, a = world["central"], world["a"]
    from fieldapp.communities.models import Community

    a.add(Community, id=world["c3"], code="C3", name="Comunidad C3")
    family = a.add_family(world["c3"])
    a.sync()
    client = login(a.app, "field_staff")
    page = client.get("/nodes/sync").get_data(as_text=True)
    assert "Pertenece a una comunidad que este nodo no atiende." in page
    seq = [r["seq"] for r in a.outbox() if r["table_name"] == "families"][0]
    a.edit(Family, family, community_id=world["c1"])  # corrected on the node
    a.sync()  # the edit alone cannot apply: central never had the family
    assert central.get(Family, family) is None
    assert client.post(f"/nodes/sync/held/{seq}/resend").status_code == 302
    a.sync()
    assert central.get(Family, family)["community_id"] == world["c1"]
    assert client.post(f"/nodes/sync/held/{seq}/discard").status_code == 403  # coordinators


def test_the_loop_backs_off_while_central_is_away(world):
    from sync.node.runner import backoff_delay, run_loop

    a = world["a"]
    world["central"].server.stop()
    delays: list[float] = []
    seen: list[str] = []

    def note(report, error, delay) -> None:
        delays.append(delay)
        seen.append(error.code if error else "ok")

    a.app.config.update(SYNC_MIN_BACKOFF=1.0, SYNC_MAX_BACKOFF=8.0)
    import threading

    stop = threading.Event()
    a.app.config["SYNC_FAULTS"] = None
    original = stop.wait
    stop.wait = lambda _delay: original(0)  # do not actually sleep in the test
    run_loop(a.state, stop=stop, on_report=note, max_runs=5)
    assert seen == ["unreachable"] * 5
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert 2.0 <= delays[2] <= 4.0
    assert 4.0 <= delays[3] <= 8.0
    assert 4.0 <= delays[4] <= 8.0
    assert len({round(backoff_delay(3, 1, 8), 6) for _ in range(20)}) > 1  # jitter
    assert a.status()["last_error"]["code"] == "unreachable"
    assert errors.Unreachable.transient
