"""Accounts managed once, on central (issue 30, item 3): users, roles and communities reach the
nodes whose scope they touch, with their password hashes (a promotor logs in on the node
offline); a password change or a deactivation on central ends that user's sessions on the nodes
at their next sync; a node that never received central's accounts may make a local emergency
account, audited and reported to central."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from synckit import Central, Node

from fieldapp.audit.models import AuditEntry
from fieldapp.auth.models import User
from fieldapp.auth.operations import create_user, reset_password, update_user
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.nodes import accounts
from fieldapp.nodes.models import Node as NodeRow
from sync import errors

PASSWORD = "selva alta 2026"
NEW_PASSWORD = "bosque de protección"


def _add_user(central: Central, username: str, role: str, communities: tuple = ()) -> None:
    with central.app.app_context():
        create_user(username, f"Nombre {username}", PASSWORD, role, communities)
        db.session.commit()


def _users(node: Node) -> dict[str, dict[str, Any]]:
    with node.app.app_context():
        rows = db.session.execute(select(User)).scalars().all()
        return {u.username: {"active": u.active, "from_central": u.from_central,
                             "role": u.role, "hash": u.password_hash,
                             "communities": sorted(c.code for c in u.communities)}
                for u in rows}


def _login(node: Node, username: str, password: str) -> Any:
    client = node.app.test_client()
    response = client.post("/auth/login", data={"username": username, "password": password})
    return client, response.status_code


def _logged_in(client: Any) -> bool:
    response = client.get("/families/")
    return response.status_code == 200


@pytest.fixture
def two_nodes(central: Central, make_node: Callable[..., Node]) -> dict[str, Any]:
    """Central with communities C1 and C2; node A serves C1, node B serves C1 and C2, node C
    serves C2; central has a promotor of C1, one of C2, a coordinator and an admin."""
    central.add_community("C1")
    central.add_community("C2")
    _add_user(central, "ana", "field_staff", ("C1",))
    _add_user(central, "beto", "field_staff", ("C2",))
    _add_user(central, "carla", "coordinator")
    _add_user(central, "root", "admin")
    nodes = {}
    for code, scope in (("AAA", ("C1",)), ("BBB", ("C1", "C2")), ("CCC", ("C2",))):
        node = make_node(code)
        node.enrol(central, communities=scope)
        node.sync()
        nodes[code] = node
    return {"central": central, **nodes}


def test_accounts_reach_the_nodes_whose_scope_they_touch(two_nodes: dict[str, Any]) -> None:
    a, b, c = two_nodes["AAA"], two_nodes["BBB"], two_nodes["CCC"]
    on_a, on_b, on_c = _users(a), _users(b), _users(c)
    # Promotores go where they work; coordinators everywhere; administrators stay on central.
    assert set(on_a) == {"ana", "carla"}
    assert set(on_b) == {"ana", "beto", "carla"}
    assert set(on_c) == {"beto", "carla"}
    assert on_b["beto"] == {"active": True, "from_central": True, "role": "field_staff",
                            "hash": on_b["beto"]["hash"], "communities": ["C2"]}
    with two_nodes["central"].app.app_context():
        central_hash = db.session.execute(
            select(User.password_hash).where(User.username == "ana")).scalar_one()
    assert on_a["ana"]["hash"] == central_hash  # so ana logs in on the node while it is offline
    two_nodes["central"].server.stop()  # central is gone: the node answers alone
    client, status = _login(a, "ana", PASSWORD)
    assert status == 302
    assert _logged_in(client)
    assert _login(a, "root", PASSWORD)[1] == 401
    assert _login(c, "ana", PASSWORD)[1] == 401


def test_a_password_change_on_central_ends_sessions_on_both_nodes(
        two_nodes: dict[str, Any]) -> None:
    central, a, b = two_nodes["central"], two_nodes["AAA"], two_nodes["BBB"]
    on_a, _ = _login(a, "ana", PASSWORD)
    on_b, _ = _login(b, "ana", PASSWORD)
    carla_on_a, _ = _login(a, "carla", PASSWORD)
    assert _logged_in(on_a)
    assert _logged_in(on_b)
    with central.app.app_context():
        reset_password("ana", NEW_PASSWORD)
        db.session.commit()
    assert _logged_in(on_a)  # until the node hears of it
    a.sync()
    b.sync()
    assert not _logged_in(on_a)
    assert not _logged_in(on_b)
    assert _logged_in(carla_on_a)  # nobody else's session ends
    assert _login(a, "ana", PASSWORD)[1] == 401
    assert _login(b, "ana", NEW_PASSWORD)[1] == 302


def test_a_deactivation_or_a_move_on_central_takes_the_account_off_the_nodes(
        two_nodes: dict[str, Any]) -> None:
    central, a, b, c = two_nodes["central"], two_nodes["AAA"], two_nodes["BBB"], two_nodes["CCC"]
    ana_on_a, _ = _login(a, "ana", PASSWORD)
    with central.app.app_context():
        ana = db.session.execute(select(User).where(User.username == "ana")).scalar_one()
        update_user(ana, ana.full_name, ana.role, [], active=False)
        db.session.commit()
    for node in (a, b, c):
        node.sync()
    assert not _logged_in(ana_on_a)
    for node in (a, b):
        row = _users(node)["ana"]
        assert row["active"] is False
        assert row["hash"] == accounts.WIPED
    assert _login(a, "ana", PASSWORD)[1] == 401
    # beto moves from C2 to C1: node C (C2 only) loses him, node A gains him.
    with central.app.app_context():
        from fieldapp.communities.models import Community

        beto = db.session.execute(select(User).where(User.username == "beto")).scalar_one()
        c1 = db.session.execute(select(Community.id).where(Community.code == "C1")).scalar_one()
        update_user(beto, beto.full_name, beto.role, [str(c1)], active=True)
        db.session.commit()
    beto_on_c, _ = _login(c, "beto", PASSWORD)
    assert _logged_in(beto_on_c)
    for node in (a, c):
        node.sync()
    assert not _logged_in(beto_on_c)
    assert _users(c)["beto"]["active"] is False
    assert _users(a)["beto"]["communities"] == ["C1"]
    assert _login(a, "beto", PASSWORD)[1] == 302


def test_a_node_before_central_makes_an_emergency_account_reported_then_replaced(
        central: Central, make_node: Callable[..., Node]) -> None:
    central.add_community("C1")
    node = make_node("EMR")
    runner = node.app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "dora", "--name", "Dora Local",
                                 "--community", "C1", "--password", PASSWORD])
    # The node has no community C1 yet (it never synced): refused, nothing made.
    assert result.exit_code != 0
    assert "C1" in result.output
    result = runner.invoke(args=["users", "create", "dora", "--name", "Dora Local",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    with node.app.app_context():
        entry = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "account:local")).scalar_one()
        assert entry.after == {"username": "dora", "full_name": "Dora Local",
                               "role": "field_staff"}  # never a password hash
    node.enrol(central, communities=("C1",))
    node.sync()
    with central.app.app_context():
        row = db.session.execute(select(NodeRow).where(NodeRow.code == "EMR")).scalar_one()
        assert [(a["username"], a["role"], a["active"]) for a in row.local_accounts] == [
            ("dora", "field_staff", True)]
        assert "hash" not in str(row.local_accounts)
        # the audit entry reached central too
        assert db.session.execute(select(AuditEntry).where(
            AuditEntry.action == "account:local")).scalar_one().after["username"] == "dora"
    admin = central_admin_client(central)
    page = admin.get(f"/nodes/{row.id}").get_data(as_text=True)
    assert "dora" in page
    assert "Dora Local" in page
    # Central now has dora's account: it replaces the local one at the next sync.
    _add_user(central, "dora", "field_staff", ("C1",))
    local_client, _ = _login(node, "dora", PASSWORD)
    node.sync()
    users = _users(node)
    assert users["dora"]["from_central"] is True
    assert users["dora"]["active"] is True
    retired = [name for name in users if name.startswith("dora~")]
    assert len(retired) == 1
    assert users[retired[0]]["active"] is False
    assert not _logged_in(local_client)
    assert _login(node, "dora", PASSWORD)[1] == 302
    # From now on accounts are central's: no new one here, no change to central's.
    result = runner.invoke(args=["users", "create", "eva", "--name", "Eva",
                                 "--password", PASSWORD])
    assert result.exit_code != 0
    assert "central" in result.output
    result = runner.invoke(args=["users", "set-password", "dora", "--password", NEW_PASSWORD])
    assert result.exit_code != 0
    assert "central" in result.output
    with node.app.app_context():
        assert accounts.takes_accounts_from_central()
        with pytest.raises(ValidationFailed):
            accounts.create_here("eva", "Eva", PASSWORD)
    client, _ = _login(node, "dora", PASSWORD)
    answer = client.post("/auth/password", data={
        "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert answer.status_code == 422
    assert _login(node, "dora", PASSWORD)[1] == 302  # unchanged


def central_admin_client(central: Central) -> Any:
    from synckit import login

    return login(central.app, "admin")


def test_a_sync_with_nothing_new_does_not_ask_again(two_nodes: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    a = two_nodes["AAA"]
    asked: list[str] = []
    real = accounts.run
    monkeypatch.setitem(a.state.exchanges, "accounts", accounts.Exchange(
        "accounts", run=lambda state, send: (asked.append("x"), real(state, send)),
        due=accounts.due))
    report = a.sync()
    assert asked == []
    assert report.requests == 1
    _add_user(two_nodes["central"], "dina", "field_staff", ("C1",))
    a.sync()
    assert asked == ["x"]
    assert "dina" in _users(a)


def test_central_refuses_bad_exchanges(two_nodes: dict[str, Any]) -> None:
    a = two_nodes["AAA"]
    transport = a.transport()
    try:
        with pytest.raises(errors.BadBody):
            transport.post("/x/accounts", {"local": [{"username": "x"}]})
        with pytest.raises(errors.BadBody):
            transport.post("/x/accounts", {"local": "not a list"})
        with pytest.raises(errors.UnknownExchange):
            transport.post("/x/nothing", {})
    finally:
        transport.close()
    anonymous = two_nodes["central"].app.test_client()
    response = anonymous.post("/sync/v1/x/accounts", json={})
    assert response.status_code == 401


def test_a_malformed_answer_applies_nothing(two_nodes: dict[str, Any]) -> None:
    a = two_nodes["AAA"]
    before = _users(a)
    good = {"id": "5b0f3a4e-0000-4000-8000-000000000001", "username": "zoe",
            "full_name": "Zoe", "role": "field_staff", "locale": None,
            "password_hash": "scrypt:32768:8:1$x$y", "communities": []}
    for bad in ({"digest": "d"}, {"digest": "d", "accounts": [{**good, "role": "admin"}]},
                {"digest": "d", "accounts": [{**good, "id": "nope"}]},
                {"digest": "d", "accounts": [good, good]}):
        with a.app.app_context(), pytest.raises(errors.BadResponse):
            accounts.run(a.state, lambda payload, bad=bad: bad)
    assert _users(a) == before


def test_a_revoked_node_keeps_no_password_hash_of_centrals_accounts(
        two_nodes: dict[str, Any]) -> None:
    from fieldapp.nodes.operations import revoke_node

    central, a, b = two_nodes["central"], two_nodes["AAA"], two_nodes["BBB"]
    ana_on_a, _ = _login(a, "ana", PASSWORD)
    with central.app.app_context():
        revoke_node(db.session.execute(select(NodeRow).where(NodeRow.code == "AAA")).scalar_one())
        db.session.commit()
    with pytest.raises(errors.NodeRevoked):
        a.sync()
    on_a = _users(a)
    assert {name: (row["active"], row["hash"]) for name, row in on_a.items()} == {
        "ana": (False, accounts.WIPED), "carla": (False, accounts.WIPED)}
    assert not _logged_in(ana_on_a)
    with a.app.app_context():
        assert not accounts.takes_accounts_from_central()
    b.sync()  # the other node keeps its accounts
    assert _users(b)["ana"]["active"] is True
