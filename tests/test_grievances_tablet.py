"""A grievance recorded on the tablet with no connection (real Chromium against a real node):
the stored form, the family chosen with the offline picker, the outbox sending it once when the
node answers again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pwa_support import (
    LiveServer,
    demo_node,
    login_and_prepare,
    outbox,
    page_of,
    screenshot,
    submit,
    tablet_context,
    wait_outbox_empty,
)
from sqlalchemy import select

from fieldapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def node(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[LiveServer]:
    """A field node holding the demo program, CSRF on, served on 127.0.0.1."""
    with demo_node(tmp_path_factory.mktemp("grievance-node"), demo_db, "GRV",
                   "00000000-0000-0000-0000-0000000009e1", replay_ms=2000) as server:
        yield server


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[Any]:
    with tablet_context(tmp_path / "tablet") as context:
        yield context


def test_a_grievance_recorded_offline_reaches_the_node_once(node: LiveServer,
                                                            tablet: Any) -> None:
    from fieldapp.families.models import Family
    from fieldapp.grievances.models import Grievance

    with node.app.app_context():
        family = db.session.execute(select(Family).where(Family.voided.is_(False))
                                    .order_by(Family.code).limit(1)).scalar_one()
        surname = family.head_surname
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    tablet.set_offline(True)
    page.goto(node.url + "/grievances/new")
    page.wait_for_selector("form[data-outbox='grievance'][data-outbox-ready='1']")
    page.fill(".family-picker-search", surname)
    page.wait_for_selector(".family-picker-results button.pick")
    page.click(".family-picker-results button.pick")
    page.wait_for_selector(".family-picker-chosen:not([hidden])")
    page.select_option("#channel", "assembly")
    page.select_option("#category", "benefit_not_received")
    page.fill("#description", "Dicho en la asamblea: no llegaron las cocinas.")
    screenshot(page, "grievance-form-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert "Guardado en esta tableta" in page.inner_text(".pwa-saved")
    assert [i["kind"] for i in outbox(page)] == ["grievance"]
    with node.app.app_context():
        assert db.session.execute(select(Grievance)).first() is None
    tablet.set_offline(False)
    wait_outbox_empty(page, 30000)
    with node.app.app_context():
        rows = db.session.execute(select(Grievance)).scalars().all()
        assert len(rows) == 1
        assert rows[0].family.head_surname == surname  # the family chosen offline
        assert rows[0].channel == "assembly"
        assert rows[0].status == "received"
    assert node.posts.count("/grievances/new") == 1
