"""The tablet warns, from its own data and offline, that a family being registered is likely one
it already holds, and lets the promotor open that family instead (a real Chromium, a real node)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pwa_support import (
    LiveServer,
    demo_node,
    launch,
    login_and_prepare,
    outbox,
    page_of,
    playwright_env,
    poll,
    screenshot,
    submit,
)

pytestmark = pytest.mark.browser

PICK = """FieldappOutbox.searchFamilies('', 0).then(rows => {
  const f = rows.find(r => r.dni && r.head_surname.trim().split(/\\s+/).length === 2);
  return f && {id: f.id, code: f.code, given: f.head_given_names, surname: f.head_surname,
               dni: f.dni, community: f.community_id};
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[LiveServer]:
    with demo_node(tmp_path_factory.mktemp("match-node"), demo_db, "PWM",
                   "00000000-0000-0000-0000-00000000cafe", replay_ms=3000) as server:
        yield server


@pytest.fixture
def page(site: LiveServer, tmp_path: Path) -> Iterator[Any]:
    playwright_env()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = launch(p, tmp_path / "tablet")
        yield page_of(context)
        context.close()


def _fill(page: Any, community: str, given: str, surname: str, dni: str = "") -> None:
    page.wait_for_selector("form[data-outbox='family'][data-outbox-ready='1']")
    page.select_option("#community_id", community)
    page.fill("#head_given_names", given)
    page.fill("#head_surname", surname)
    page.fill("#members_count", "3")
    page.fill("#dni", dni)


def _respelled(given: str, surname: str) -> tuple[str, str]:
    """The name as another promotor types it: capitals without accents, surnames swapped."""
    import unicodedata

    def plain(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFD", text)
                       if not unicodedata.combining(c)).upper()

    first, second = surname.split()
    return plain(given), f"{plain(second)} de {plain(first)}"


def test_the_tablet_warns_offline_of_a_family_it_holds_and_opens_it(site, page) -> None:
    login_and_prepare(page, site.url, "promotor")
    known = page.evaluate(PICK)
    assert known, "the promotor's tablet holds a family with a DNI and two surnames"
    page.context.set_offline(True)
    page.goto(site.url + "/families/new")
    given, surname = _respelled(known["given"], known["surname"])
    _fill(page, known["community"], given, surname)
    submit(page)
    page.wait_for_selector("#offline-duplicates:not([hidden])")
    warning = page.inner_text("#offline-duplicates")
    assert known["code"] in warning
    assert "Esta tableta ya tiene una familia como esta" in warning
    assert page.is_visible("[data-confirm=confirm_not_duplicate]")  # or: another family
    assert outbox(page) == []  # nothing saved while the warning stands
    screenshot(page, "family-match-warning")

    # Another name: no warning. The same DNI under any name: the family it belongs to.
    page.fill("#head_given_names", "Wilfredo")
    page.fill("#head_surname", "Ushiñahua Pizango")
    page.wait_for_selector("#offline-duplicates", state="hidden")
    page.fill("#dni", known["dni"])
    page.wait_for_selector("#offline-duplicates:not([hidden])")
    assert known["code"] in page.inner_text("#offline-duplicates")

    # "Open it instead": the tablet's own card of that family.
    page.click(f"#offline-duplicates a[href='/families/{known['id']}']")
    page.wait_for_selector("#offline-family:not([hidden])")
    assert page.inner_text("#offline-family .offline-family-code") == known["code"]

    # Told it is another family, the promotor saves it on the tablet.
    page.goto(site.url + "/families/new")
    _fill(page, known["community"], given, surname)
    page.wait_for_selector("#offline-duplicates:not([hidden])")
    page.check("#confirm_not_duplicate")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert [i["kind"] for i in outbox(page)] == ["family"]


def test_the_tablets_family_search_shows_withdrawn_families_behind_the_filter(site, page,
                                                                              request) -> None:
    import uuid

    from sqlalchemy import select

    from fieldapp.extensions import db
    from fieldapp.families.models import Family

    login_and_prepare(page, site.url, "promotor")
    known = page.evaluate(PICK)
    def set_status(status: str, reason: str | None) -> None:
        with site.app.app_context():  # as a coordinator records it
            family = db.session.execute(select(Family).where(
                Family.id == uuid.UUID(known["id"]))).scalar_one()
            family.status, family.withdrawn_reason = status, reason
            db.session.commit()

    set_status("withdrawn", "moved_away")
    request.addfinalizer(lambda: set_status("active", None))  # the node serves other tests
    page.goto(site.url + "/")
    # The tablet takes the node's data again (a page refreshes it at most once a minute).
    poll(page, "FieldappOutbox.refreshRef(window.fieldappPwa.cfg).then(() => "
               f"FieldappOutbox.getFamily('{known['id']}')).then(f => f.status === 'withdrawn')")
    page.context.set_offline(True)
    page.goto(site.url + "/families/")
    page.fill("#q", known["code"])
    page.press("#q", "Enter")
    page.wait_for_selector(".offline-results li")
    assert known["code"] not in page.inner_text(".offline-results")
    page.select_option("#status", "withdrawn")
    page.press("#q", "Enter")
    page.wait_for_selector(f".offline-results a[href='/families/{known['id']}']")
