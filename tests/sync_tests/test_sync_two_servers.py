"""Central grows by adding app servers: two gunicorn instances on one PostgreSQL, behind a
round-robin proxy. Nodes sync through both at once; sessions and rate limits hold on either.

Nothing about a sync lives in a worker's memory: the node's lock is a row lock, its cursor and
last applied operation are rows, sessions and rate-limit counters are rows. So the pages of one
push, answered by two servers in turn, apply once each and in order.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import empty_pg
from sqlalchemy import func, select
from synckit import Central, Node, assert_converged, node_config

from fieldapp import create_app
from fieldapp.extensions import db
from fieldapp.families.models import Family
from testing.servers import Gunicorn, LinkProxy

PASSWORD = "correct horse battery"


@pytest.fixture
def two_servers(tmp_path: Path, pg_database: str) -> Iterator[dict[str, Any]]:
    """Central's database, two gunicorn servers sharing it (and its secret key and identity,
    as two machines of one central do), and a round-robin proxy in front of them."""
    setup = tmp_path / "setup"
    setup.mkdir()
    config = node_config(setup, "CEN", ROLE="central", SQLALCHEMY_DATABASE_URI=pg_database)
    app = create_app(config)
    empty_pg(app)
    servers = []
    for n in range(2):
        instance = tmp_path / f"server{n}"
        instance.mkdir()
        servers.append(Gunicorn({
            "FIELDAPP_ROLE": "central", "FIELDAPP_INSTANCE_PATH": str(instance),
            "FIELDAPP_SQLALCHEMY_DATABASE_URI": pg_database, "FIELDAPP_AUTO_MIGRATE": "false",
            "FIELDAPP_SECRET_KEY": config["SECRET_KEY"], "FIELDAPP_NODE_ID": config["NODE_ID"],
            "FIELDAPP_NODE_CODE": config["NODE_CODE"], "FIELDAPP_LOG_FORMAT": "json",
            "FIELDAPP_VERIFY_RATE_LIMIT": "5", "FIELDAPP_VERIFY_RATE_WINDOW": "3600",
        }, workers=2, threads=1, worker_class="sync"))  # as deployed: a request a connection
    proxy = LinkProxy([s.port for s in servers])
    try:
        yield {"app": app, "servers": servers, "proxy": proxy,
               "central": Central(app, proxy, "postgres")}  # type: ignore[arg-type]
    finally:
        proxy.close()
        for server in servers:
            server.stop()
        with app.app_context():
            db.engine.dispose()


def _pages(server: Gunicorn) -> int:
    """The push pages this server applied (its JSON request log)."""
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines()
             if line.startswith("{")]
    return sum(1 for line in lines if line.get("route") == "/sync/v1/push"
               and line.get("status") == 200)


def test_nodes_sync_through_two_servers_at_once(two_servers: dict[str, Any],
                                                make_node: Callable[..., Node]) -> None:
    central, proxy = two_servers["central"], two_servers["proxy"]
    c1 = central.add_community("C1")
    c2 = central.add_community("C2")
    # Small pages: each push and pull is many requests, spread over both servers.
    small = {"SYNC_PUSH_PAGE_OPS": 7, "SYNC_PUSH_PAGE_GROWTH": 1, "SYNC_PULL_PAGE_ROWS": 9}
    nodes = [make_node(code, **small) for code in ("AAA", "BBB", "CCC")]
    nodes[0].enrol(central, communities=("C1",), url=proxy.url)
    nodes[1].enrol(central, communities=("C1",), url=proxy.url)
    nodes[2].enrol(central, communities=("C1", "C2"), url=proxy.url)
    for node in nodes:
        assert node.sync().ok  # the communities
    made: dict[str, set[uuid.UUID]] = {}
    for node in nodes:
        made[node.code] = {
            node.add_family(c2 if node.code == "CCC" and n % 2 else c1,
                            head_given_names=f"Rosa {node.code} {n}",
                            head_surname=f"Servidores {n}")
            for n in range(25)}

    def sync_all(rounds: int) -> None:
        errors: list[BaseException] = []

        def run(node: Node) -> None:
            try:
                for _ in range(rounds):
                    report = node.sync()
                    assert report.ok, report
            except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=run, args=(node,)) for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors

    sync_all(rounds=2)  # at once: pushes and pulls of three nodes interleave on both servers
    sync_all(rounds=1)  # each node now pulls what the others pushed after its own pull

    everything = set().union(*made.values())
    with central.app.app_context():
        on_central = set(db.session.scalars(select(Family.id)))
        codes = db.session.scalar(select(func.count(func.distinct(Family.code))))
    assert on_central == everything  # nothing lost, nothing extra
    assert codes == len(everything)
    for node in nodes:
        assert_converged(central, node)
        status = node.status()
        assert status["pending"] == 0, status
    # Each server applied pages of the pushes (pages of one push alternate between them).
    assert all(_pages(server) > 0 for server in two_servers["servers"])
    assert min(proxy.by_target) > 10


def test_sessions_and_rate_limits_hold_on_either_server(two_servers: dict[str, Any]) -> None:
    from fieldapp.auth.operations import create_user

    app = two_servers["app"]
    with app.app_context():
        create_user("coordinadora", "Coordinadora", PASSWORD, "coordinator", ())
        db.session.commit()
    a, b = (server.url for server in two_servers["servers"])
    browser = requests.Session()
    login_page = browser.get(f"{a}/auth/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    assert token, login_page[:500]
    logged = browser.post(f"{a}/auth/login", timeout=30, allow_redirects=False, data={
        "csrf_token": token.group(1), "username": "coordinadora", "password": PASSWORD})
    assert logged.status_code == 302
    # Logged in on A, recognised by B (the session is signed with the shared key and its
    # token is a row): B serves the page, and a logout on B ends the session on A too.
    page = browser.get(f"{b}/families/", timeout=30, allow_redirects=False)
    assert page.status_code == 200
    assert "coordinadora" in page.text.lower() or "Coordinadora" in page.text
    form = browser.get(f"{b}/families/", timeout=30).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert csrf
    assert browser.post(f"{b}/auth/logout", data={"csrf_token": csrf.group(1)}, timeout=30,
                        allow_redirects=False).status_code == 302
    stale = requests.get(f"{a}/families/", timeout=30, allow_redirects=False,
                         cookies=logged.cookies)
    assert stale.status_code == 302
    assert "/auth/login" in stale.headers["Location"]

    # Five verifications per hour per address, counted in the database: A and B in turn.
    answers = [requests.get(f"{(a, b)[n % 2]}/verify/{uuid.uuid4()}/{'0' * 64}", timeout=30)
               .status_code for n in range(7)]
    assert 429 not in answers[:5], answers
    assert answers[5:] == [429, 429], answers
