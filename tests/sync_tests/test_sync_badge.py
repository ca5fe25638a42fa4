"""The field node's sync badge in the top bar: exact when few changes wait, capped when many."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from fieldapp.extensions import db
from fieldapp.nodes.syncing import BADGE_PENDING_CAP


def _outbox(app):
    return app.extensions["sync"].tables.outbox


def _pending(app) -> int:
    with app.app_context():
        o = _outbox(app)
        return db.session.scalar(select(func.count()).select_from(o).where(o.c.status == "pending"))


def _add_pending(app, n: int) -> None:
    """``n`` more unsent operations, as a node that has not synced for weeks holds them."""
    with app.app_context():
        o = _outbox(app)
        top = db.session.scalar(select(func.max(o.c.seq))) or 0
        now = datetime.now(UTC)
        db.session.execute(insert(o), [
            {"seq": top + i + 1, "table_name": "families", "row_id": uuid.uuid4(), "op": "u",
             "captured_at": now, "status": "pending"} for i in range(n)])
        db.session.execute(insert(app.extensions["sync"].tables.outbox_payloads), [
            {"seq": top + i + 1, "payload": "{}"} for i in range(n)])
        db.session.commit()


def _badge(page: str) -> str:
    match = re.search(r'id="sync-badge"[^>]*>(.*?)</(?:a|span)>', page, re.S)
    assert match, "no sync badge on the page"
    return match.group(1).strip()


def _enrol(app) -> None:
    """The node enrolled with a central (its credential in the instance folder): it has
    somewhere to send its changes, and the badge counts them."""
    from sync.node.transport import save_credentials

    save_credentials(app.extensions["sync"], {
        "central_url": "https://central.example.org", "node_id": str(uuid.uuid4()),
        "node_code": "TST", "name": "Nodo de prueba", "credential": "x"})


def test_a_standalone_node_says_so_calmly_instead_of_counting(app, client, auth):
    """Never enrolled (the demo of `make run`): nothing to send to, so no "1,000+ cambios por
    enviar" — and one badge in the top bar, not two."""
    auth.login()
    _add_pending(app, BADGE_PENDING_CAP + 5)
    page = client.get("/families/").get_data(as_text=True)
    assert _badge(page) == "Nodo independiente: no conectado a un servidor central"
    assert "cambios por enviar" not in page
    assert 'class="sync-badge sync-standalone"' in page
    assert page.count('class="netbadge"') == 1
    assert page.count('id="sync-badge"') == 1
    badge = page[page.find('id="pwa-badge"'):]
    assert badge.find('id="sync-badge"') < badge.find("</a>")  # inside the one badge
    # The sync page tells the same story: no count of changes waiting for a central it has not.
    sync_page = client.get("/nodes/sync").get_data(as_text=True)
    pending = sync_page[sync_page.find("data-pending"):]
    pending = pending[:pending.find("</dd>")]
    assert "no envía nada hasta que un administrador lo inscriba" in pending
    assert "1,005" not in pending
    assert "1005" not in pending


def test_the_badge_counts_a_few_pending_changes_exactly(app, client, auth, make_family):
    _enrol(app)
    make_family()
    make_family()
    auth.login()
    pending = _pending(app)
    assert 2 <= pending < BADGE_PENDING_CAP
    page = client.get("/families/").get_data(as_text=True)
    assert 'class="sync-badge sync-pending"' in page
    assert _badge(page) == f"{pending} cambios por enviar"


def test_the_badge_caps_a_large_outbox_and_the_sync_page_keeps_the_exact_figure(app, client,
                                                                              auth):
    _enrol(app)
    auth.login()
    _add_pending(app, BADGE_PENDING_CAP)
    _add_pending(app, 5)
    exact = _pending(app)
    assert exact == BADGE_PENDING_CAP + 5
    page = client.get("/families/").get_data(as_text=True)
    assert 'class="sync-badge sync-pending"' in page
    assert _badge(page) == "1,000+ cambios por enviar"  # Peruvian Spanish groups with a comma
    sync_page = client.get("/nodes/sync").get_data(as_text=True)
    assert re.search(rf"data-pending>{exact:,}<", sync_page)  # the node's own page: exact
    assert client.post("/auth/language/en").status_code == 302
    page = client.get("/families/").get_data(as_text=True)
    assert _badge(page) == "1,000+ changes to send"


def test_the_badge_is_exact_at_the_cap_itself(app, client, auth):
    _enrol(app)
    auth.login()
    _add_pending(app, BADGE_PENDING_CAP)
    assert _badge(client.get("/families/").get_data(as_text=True)) == (
        f"{BADGE_PENDING_CAP:,} cambios por enviar")  # grouped like "1,000+"
    _add_pending(app, 1)
    assert _badge(client.get("/families/").get_data(as_text=True)) == "1,000+ cambios por enviar"


def test_the_handshake_counts_stay_exact(app):
    from sync.node import local

    _add_pending(app, BADGE_PENDING_CAP + 7)
    with app.app_context():
        state = app.extensions["sync"]
        assert local.counts(state) == {"pending": BADGE_PENDING_CAP + 7, "quarantined": 0}
        assert local.counts(state, cap=10) == {"pending": 10, "pending_capped": 1,
                                               "quarantined": 0}
        assert local.counts(state, cap=BADGE_PENDING_CAP + 7) == {
            "pending": BADGE_PENDING_CAP + 7, "pending_capped": 0, "quarantined": 0}
