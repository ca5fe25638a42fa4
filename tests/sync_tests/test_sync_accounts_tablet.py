"""A promotor's tablet logs in on the node with the account central made, while the node is
cut off from central; a password change on central ends that tablet's session at the node's next
sync (issue 30, item 3). Central on SQLite only: the backends are compared in
test_sync_accounts.py; here the browser is what is tested."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pwa_support import login, page_of, tablet_context
from synckit import Central, Node

from fieldapp.auth.operations import create_user, reset_password
from fieldapp.extensions import db
from sync import errors
from testing.servers import LinkProxy, ThreadServer

PASSWORD = "selva alta 2026"
NEW_PASSWORD = "bosque de protección"


@pytest.fixture
def central_backend() -> str:
    return "sqlite"


def test_the_tablet_logs_in_offline_and_is_logged_out_after_a_change_on_central(
        central: Central, make_node: Callable[..., Node], tmp_path: Path) -> None:
    central.add_community("C1")
    with central.app.app_context():
        create_user("ana", "Ana Tapullima", PASSWORD, "field_staff", ("C1",))
        db.session.commit()
    link = LinkProxy(central.server.port)
    node = make_node("TAB")
    node.enrol(central, communities=("C1",), url=link.url)
    node.sync()
    link.set_down(True)  # the village has no connection from here on
    with pytest.raises(errors.SyncError):
        node.sync()
    served = ThreadServer(node.app).start()
    try:
        with tablet_context(tmp_path / "tablet") as context:
            page = page_of(context)
            login(page, served.url, "ana", PASSWORD)  # central's account, central away
            page.goto(served.url + "/families/")
            assert "/auth/login" not in page.url
            with central.app.app_context():
                reset_password("ana", NEW_PASSWORD)
                db.session.commit()
            page.goto(served.url + "/families/")
            assert "/auth/login" not in page.url  # the node has not heard of it yet
            link.set_down(False)
            node.sync()
            page.goto(served.url + "/families/")
            assert "/auth/login" in page.url  # the session ended at the sync
            login(page, served.url, "ana", NEW_PASSWORD)
    finally:
        served.stop()
        link.close()
