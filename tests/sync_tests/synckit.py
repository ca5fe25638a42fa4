"""Helpers for the sync tests: a live HTTP server, central and node handles, comparisons."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from fieldapp import create_app
from fieldapp.agreements.content import content_hash
from fieldapp.agreements.models import Agreement
from fieldapp.extensions import db
from testing.servers import ThreadServer


def node_config(instance: Path, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "NODE_ID": str(uuid.uuid5(uuid.NAMESPACE_DNS, code)),
        "NODE_CODE": code,
        "WTF_CSRF_ENABLED": False,
        "AUTO_MIGRATE": False,
        "SYNC_MIN_BACKOFF": 0.01,
        **extra,
    }


class App:
    """What central and nodes share: queries and writes in the app's context."""

    app: Flask

    @property
    def state(self) -> Any:
        return self.app.extensions["sync"]

    def count(self, model: Any, *where: Any) -> int:
        with self.app.app_context():
            stmt = select(func.count()).select_from(model)
            if where:
                stmt = stmt.where(*where)
            return db.session.scalar(stmt)

    def rows(self, model: Any) -> dict[Any, dict[str, Any]]:
        """Every row of a table: {id: {column: value}} (as the database gives them)."""
        table = getattr(model, "__table__", model)
        key = list(table.primary_key.columns)[0].key
        with self.app.app_context():
            out = {r._mapping[key]: dict(r._mapping) for r in db.session.execute(select(table))}
            db.session.rollback()
        return out

    def get(self, model: Any, row_id: Any) -> dict[str, Any] | None:
        return self.rows(model).get(row_id)

    def add(self, model: Any, **values: Any) -> Any:
        """Insert through the ORM (captured like any write); returns the new id."""
        with self.app.test_request_context():
            obj = model(**values)
            db.session.add(obj)
            db.session.commit()
            return obj.id

    def edit(self, model: Any, row_id: Any, **changes: Any) -> None:
        with self.app.test_request_context():
            obj = db.session.get(model, row_id)
            for key, value in changes.items():
                setattr(obj, key, value)
            db.session.commit()

    def add_families(self, community_id: Any, rows: list[dict[str, Any]]) -> list[Any]:
        """Register several families in one transaction (operations layer, audited)."""
        from fieldapp.families.operations import create_family

        ids = []
        with self.app.test_request_context():
            for values in rows:
                # One default name for many families: confirmed as different families (the
                # possible-duplicate warning is tested in tests/test_family_duplicates.py).
                data = {"head_given_names": "María", "head_surname": "Tuanama Sánchez",
                        "members_count": 4, "data_consent": True,
                        "confirm_not_duplicate": True, "community_id": community_id,
                        **values}
                ids.append(create_family(data).id)
            db.session.commit()
        return ids

    def add_family(self, community_id: Any, **values: Any) -> Any:
        from fieldapp.families.operations import create_family

        data = {"head_given_names": "María", "head_surname": "Tuanama Sánchez",
                "members_count": 4, "data_consent": True, "community_id": community_id,
                "confirm_not_duplicate": True, **values}
        with self.app.test_request_context():
            family = create_family(data)
            db.session.commit()
            return family.id


class Central(App):
    def __init__(self, app: Flask, server: ThreadServer, backend: str) -> None:
        self.app = app
        self.server = server
        self.url = server.url
        self.backend = backend

    def register(self, code: str, communities: tuple = (), all_communities: bool = False,
                 name: str | None = None) -> str:
        from fieldapp.nodes.operations import register_node

        with self.app.app_context():
            # Under the id the node's records carry (node_config), as an enrolled node's
            # installation does after `fieldapp node enroll`: central checks it.
            # Test codes (AAA, LIM) predate the vowel-free alphabet: issued codes.
            _node, enrol_code = register_node(name or f"Nodo {code}", code, communities,
                                              all_communities,
                                              node_id=uuid.uuid5(uuid.NAMESPACE_DNS, code),
                                              issued_code=True)
            db.session.commit()
        return enrol_code

    def add_community(self, code: str, name: str | None = None) -> Any:
        from fieldapp.communities.models import Community

        return self.add(Community, code=code, name=name or f"Comunidad {code}")


class Node(App):
    def __init__(self, app: Flask, code: str, factory: Any = None) -> None:
        self.app = app
        self.code = code
        self.factory = factory

    def enrol(self, central: Central, communities: tuple = (), all_communities: bool = False,
              url: str | None = None) -> dict[str, Any]:
        from sync.node.transport import enrol

        enrol_code = central.register(self.code, communities, all_communities)
        with self.app.app_context():
            return enrol(self.state, url or central.url, enrol_code)

    def sync(self) -> Any:
        from sync.node.client import sync_once

        with self.app.app_context():
            return sync_once(self.state)

    def transport(self) -> Any:
        """A connection to central with this node's credential (the caller closes it)."""
        from sync.node.transport import Transport, load_credentials

        with self.app.app_context():
            creds = load_credentials(self.state)
        return Transport(creds["central_url"],
                         auth=f"Node {creds['node_id']}:{creds['secret']}")

    def status(self) -> dict[str, Any]:
        from sync.node.runner import status

        with self.app.app_context():
            return status(self.state)

    def outbox(self) -> list[dict[str, Any]]:
        """The outbox's rows, each with its payload."""
        payloads = {r["seq"]: r["payload"]
                    for r in self.rows(self.state.tables.outbox_payloads).values()}
        rows = sorted(self.rows(self.state.tables.outbox).values(), key=lambda r: r["seq"])
        return [{**r, "payload": payloads[r["seq"]]} for r in rows]

    def cursor(self) -> int:
        from sync.node import local

        with self.app.app_context():
            value = local.get_value(self.state, "cursor")
            db.session.rollback()
        return value

    def restart(self, **extra: Any) -> Node:
        """The process died: a new app on the same instance folder and database."""
        with self.app.app_context():
            db.engine.dispose()
        config = {k: v for k, v in self.app.config.items()
                  if k in ("TESTING", "SECRET_KEY", "NODE_ID", "NODE_CODE", "WTF_CSRF_ENABLED",
                           "SYNC_MIN_BACKOFF", "SYNC_PUSH_PAGE_OPS", "SYNC_PULL_PAGE_ROWS")}
        config.update(INSTANCE_PATH=self.app.instance_path, ROLE="field", AUTO_MIGRATE=False,
                      **extra)
        self.app = create_app(config)
        if self.factory is not None:
            self.factory.append(self)
        return self


SYNCED_PULLED = ("communities", "families", "agreements", "training_sessions", "attendance",
                 "benefit_deliveries", "compliance_visits", "commitment_types", "benefit_types",
                 "agreement_commitments", "agreement_benefits", "signatures", "visit_findings",
                 "sanctions")


def assert_converged(central: Central, node: Node, tables: tuple[str, ...] = SYNCED_PULLED
                     ) -> None:
    """Every row of the node's scope on central is on the node, identical, and vice versa."""
    state = central.state
    creds = node.state.app.extensions["sync"]
    from sync.node.transport import load_credentials

    with node.app.app_context():
        scope = load_credentials(creds)["scope"]
    scope_ids = None if scope is None else {uuid.UUID(s) for s in scope}
    for name in tables:
        spec = state.registry.get(name)
        central_rows = central.rows(spec.table)
        node_rows = node.rows(spec.table)
        if scope_ids is not None:
            with central.app.app_context():
                places = state.registry.communities_of_rows(
                    db.session, name, list(central_rows.values()), {})
                db.session.rollback()
            central_rows = {
                row_id: row for (row_id, row), (a, b) in zip(central_rows.items(), places,
                                                           strict=True)
                if (a is None or a in scope_ids) and (b is None or b in scope_ids)
            }
        assert set(node_rows) == set(central_rows), (
            f"{name}: node {node.code} has {len(node_rows)} rows, central {len(central_rows)} "
            f"in its scope; missing {len(set(central_rows) - set(node_rows))}, extra "
            f"{len(set(node_rows) - set(central_rows))}")
        for row_id, row in central_rows.items():
            assert node_rows[row_id] == row, f"{name} {row_id} differs on node {node.code}"


def assert_cursor_not_ahead(central: Central, node: Node) -> None:
    """Every change up to the node's cursor that the node should have is on the node."""
    cursor = node.cursor()
    ch = central.state.tables.changes
    with central.app.app_context():
        entries = db.session.execute(
            select(ch.c.table_name, ch.c.row_id, ch.c.op).where(ch.c.server_seq <= cursor)
        ).all()
        db.session.rollback()
    for table_name, row_id, op in entries:
        spec = central.state.registry.get(table_name)
        if spec is None or op != "u" or not spec.distribute:
            continue
        if central.get(spec.table, row_id) is None:
            continue
        assert node.get(spec.table, row_id) is not None, (
            f"cursor {cursor} is past {table_name} {row_id}, which the node does not have")


def family_conflict(world: dict[str, Any]) -> Any:
    """A family of C1 whose ``members_count`` nodes A and B changed apart: a conflict on central.

    Returns the family's id; both nodes have synced.
    """
    from fieldapp.families.models import Family

    a, b = world["a"], world["b"]
    family = a.add_family(world["c1"])
    a.sync()
    b.sync()
    a.edit(Family, family, members_count=5)
    b.edit(Family, family, members_count=9)
    a.sync()
    b.sync()
    return family


def login(app: Flask, role: str, communities: tuple = ()) -> Any:
    """A test client of ``app`` logged in as a new user with ``role``."""
    from fieldapp.auth.operations import create_user

    username = f"u-{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    with app.app_context():
        create_user(username, f"Usuario {role}", "correct horse battery", role, communities)
        db.session.commit()
    client = app.test_client()
    response = client.post("/auth/login", data={"username": username,
                                                "password": "correct horse battery"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def signed_agreement(node: Any, family_id: Any, number: str, status: str = "signed",
                     supersedes: Any = None) -> Any:
    """A version as the signing screen freezes it (content and its hash)."""
    content = {"format": 1, "number": number, "family": str(family_id),
               "supersedes_id": str(supersedes) if supersedes else None,
               "commitments": [{"code": "no_clearing", "text_es": "No talar ni quemar"}],
               "period": {"start": "2026-01-01", "end": "2026-12-31"}}
    return node.add(
        Agreement, number=number, family_id=family_id, year=2026,
        period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), status=status,
        kind="amendment" if supersedes else "original", version_no=2 if supersedes else 1,
        supersedes_id=supersedes, signed_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        signed_place="Aguas Verdes", signed_content=content, content_hash=content_hash(content))


def last_insert(node: Any, table: str) -> dict[str, Any]:
    """The newest insert of ``table`` in the node's outbox, as sent."""
    ops = [json.loads(r["payload"]) for r in node.outbox()]
    return [op for op in ops if op["t"] == table and op["o"] == "i"][-1]


def push(node: Any, *ops: dict[str, Any]) -> list[str]:
    """Post ``ops`` as the node's next push page (numbered after its outbox); the refusal codes,
    one per operation ("" when applied)."""
    from sync.node import local

    with node.app.app_context():
        start = local.get_value(node.state, "node_seq")
        db.session.rollback()
    lines = []
    for n, op in enumerate(ops, start + 1):
        body = {"a": datetime.now(UTC).isoformat(timespec="microseconds"), **op, "s": n}
        lines.append(json.dumps(body, separators=(",", ":")).encode())
    # Keep the node's own numbering in step: these numbers are used now.
    with node.app.app_context():
        db.session.execute(db.text("UPDATE sync_state SET value = :v WHERE key = 'node_seq'"),
                           {"v": start + len(ops)})
        db.session.commit()
    transport = node.transport()
    try:
        answer = transport.post("/push", body=b"\n".join(lines),
                                content_type="application/x-ndjson")
    finally:
        transport.close()
    assert answer["acked"] == start + len(ops)
    refused = {r["s"]: r["code"] for r in answer["rejected"]}
    return [refused.get(n, "") for n in range(start + 1, start + len(ops) + 1)]
