"""Plots and the worklist on the tablet with no connection (real Chromium against a real node,
geolocation emulated): a square walked with the GPS (a point too inaccurate left out) and a
concave plot tapped corner by corner, both saved through the outbox; the worklist stored on
the tablet, a visit done offline taking its item away at once, and the node's worklist without
it once the visit arrived."""

from __future__ import annotations

import json
import math
import uuid
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
    poll,
    screenshot,
    submit,
    tablet_context,
    wait_outbox_empty,
)
from sqlalchemy import select

from fieldapp.extensions import db

pytestmark = pytest.mark.browser

#: A corner of the plots walked, in San Martín; a step of 0.0001° is about 11 m.
LON, LAT, STEP = -77.1, -5.9, 0.0001


@pytest.fixture
def node(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[LiveServer]:
    with demo_node(tmp_path_factory.mktemp("plots-node"), demo_db, "PLT",
                   "00000000-0000-0000-0000-00000000a0e1", replay_ms=2000) as server:
        yield server


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[Any]:
    with tablet_context(tmp_path / "tablet") as context:
        yield context


def _family_in_scope(page: Any) -> str:
    return page.evaluate("FieldappOutbox.getAll('families').then(rows => rows.sort("
                         "(a, b) => a.code < b.code ? -1 : 1)[0].id)")


def _at(tablet: Any, lon: float, lat: float, accuracy: float = 5) -> None:
    tablet.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": accuracy})


def _open_offline_form(page: Any, tablet: Any, base: str, family: str) -> None:
    tablet.set_offline(True)
    page.goto(f"{base}/plots/new?family={family}")
    page.wait_for_selector("form[data-outbox='plot'][data-outbox-ready='1']")
    page.wait_for_selector(".family-picker-chosen:not([hidden])")


def _plot_of(node: LiveServer, name: str) -> Any:
    from fieldapp.plots.models import Plot

    with node.app.app_context():
        plot = db.session.execute(select(Plot).where(Plot.name == name)).scalar_one()
        db.session.expunge(plot)
        return plot


def test_a_square_walked_offline_is_saved_with_its_accuracies(node: LiveServer,
                                                              tablet: Any) -> None:
    page = page_of(tablet)
    tablet.grant_permissions(["geolocation"], origin=node.url)
    _at(tablet, LON, LAT)
    login_and_prepare(page, node.url, "promotor")
    family = _family_in_scope(page)
    _open_offline_form(page, tablet, node.url, family)
    page.fill("#name", "Cafetal del cerro")
    page.fill("#declared_ha", "1")
    page.click("[data-walk=start]")
    poll(page, "document.querySelector('.boundary-capture').dataset.walking === '1'")
    # Around a square of 10 steps a side (about 110 m), a point every 2 steps; one reading
    # 60 m off is left out.
    ring = ([(i, 0) for i in range(0, 10, 2)] + [(10, j) for j in range(0, 10, 2)]
            + [(i, 10) for i in range(10, 0, -2)] + [(0, j) for j in range(10, 0, -2)])
    for n, (i, j) in enumerate(ring):
        if n == 7:
            _at(tablet, LON + 0.003, LAT, accuracy=60)
            page.wait_for_timeout(150)
        _at(tablet, LON + i * STEP, LAT + j * STEP)
        poll(page, f"Number(document.querySelector('.boundary-capture').dataset.points) >= {n + 1}")
    page.click("[data-walk=stop]")
    assert "(1 " in page.inner_text("[data-walk=status]")  # one left out, said
    screenshot(page, "plot-walk-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert [i["kind"] for i in outbox(page)] == ["plot"]
    tablet.set_offline(False)
    wait_outbox_empty(page, 30000)
    plot = _plot_of(node, "Cafetal del cerro")
    assert plot.method == "walk"
    assert len(plot.accuracies) == len(ring) == 20
    assert set(plot.accuracies) == {5}
    side = 10 * STEP * 111_320
    expected = side * side * math.cos(math.radians(LAT)) / 10_000
    assert plot.area_ha == pytest.approx(expected, rel=0.01)
    assert str(plot.family_id) == family


def test_a_concave_plot_tapped_corner_by_corner(node: LiveServer, tablet: Any) -> None:
    page = page_of(tablet)
    tablet.grant_permissions(["geolocation"], origin=node.url)
    _at(tablet, LON, LAT)
    login_and_prepare(page, node.url, "promotor")
    family = _family_in_scope(page)
    _open_offline_form(page, tablet, node.url, family)
    page.fill("#name", "Chacra en L")
    # An L: a 20x20-step square without its 10x10 top-right quarter (three quarters left).
    corners = [(0, 0), (20, 0), (20, 10), (10, 10), (10, 20), (0, 20)]
    for n, (i, j) in enumerate(corners, start=1):
        _at(tablet, LON + i * STEP, LAT + j * STEP)
        page.click("[data-walk=corner]")
        poll(page, f"Number(document.querySelector('.boundary-capture').dataset.points) === {n}")
    walked = json.loads(page.input_value("#boundary"))
    assert walked[3] == [round(LON + 10 * STEP, 7), round(LAT + 10 * STEP, 7)]
    submit(page)
    page.wait_for_selector(".pwa-saved")
    tablet.set_offline(False)
    wait_outbox_empty(page, 30000)
    plot = _plot_of(node, "Chacra en L")
    assert plot.method == "vertices"
    side = 20 * STEP * 111_320
    expected = 0.75 * side * side * math.cos(math.radians(LAT)) / 10_000
    assert plot.area_ha == pytest.approx(expected, rel=0.01)


def test_the_worklist_works_offline_and_a_visit_done_offline_takes_its_item_away(
        node: LiveServer, tablet: Any) -> None:
    from fieldapp.compliance.models import ComplianceVisit

    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    page.goto(node.url + "/")
    poll(page, "document.getElementById('worklist').dataset.worklistSource === 'network'")
    item = page.get_attribute("#worklist li.worklist-visit", "data-item")
    family = item.split(":", 1)[1]
    href = page.get_attribute(f"#worklist li[data-item='{item}'] a", "href")
    assert f"family={family}" in href
    # With no connection, the stored worklist (the page from the tablet's cache).
    tablet.set_offline(True)
    page.reload()
    poll(page, "document.getElementById('worklist').dataset.worklistSource === 'stored'")
    assert page.locator(f"#worklist li[data-item='{item}']").count() == 1
    screenshot(page, "worklist-offline")
    # One tap to the visit form (stored), done offline: the item leaves the worklist at once.
    page.click(f"#worklist li[data-item='{item}'] a")
    page.wait_for_selector("form[data-outbox='visit'][data-outbox-ready='1']")
    page.wait_for_selector("[data-visit-findings] .finding")
    page.click("[data-visit-findings] .finding:first-child .seg-met")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    page.goto(node.url + "/")
    poll(page, "document.getElementById('worklist').dataset.worklistSource === 'stored'")
    assert page.locator(f"#worklist li[data-item='{item}']").count() == 0
    assert not page.locator("[data-worklist-note]").is_hidden()
    # Back online: the visit reaches the node, whose worklist no longer has the item.
    tablet.set_offline(False)
    wait_outbox_empty(page, 30000)
    with node.app.app_context():
        assert db.session.execute(select(ComplianceVisit).where(
            ComplianceVisit.family_id == uuid.UUID(family))).first() is not None
    page.goto(node.url + "/")
    poll(page, "document.getElementById('worklist').dataset.worklistSource === 'network'")
    assert page.locator(f"#worklist li[data-item='{item}']").count() == 0
