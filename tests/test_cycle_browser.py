"""The cycle's scripts in a real headless Chromium: the signature pad with mouse and touch, paper
mode, and the attendance filter. No console errors (the CSP forbids inline scripts and styles)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cyclekit import agreement_in_state, get_agreement, seed
from sqlalchemy import select

from fieldapp.extensions import db
from testing.servers import ThreadServer

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
PASSWORD = "a long browser test password"


@pytest.fixture
def live(app) -> Iterator[str]:
    """The app served on a free local port from a thread."""
    server = ThreadServer(app).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (each test gets its own context)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(live, app, browser) -> Iterator[Any]:
    """A tablet-sized page logged in as a coordinator."""
    with app.app_context():
        from fieldapp.auth.operations import create_user

        create_user("navegador", "Nilda Chuquizuta", PASSWORD, "coordinator")
        db.session.commit()
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True,
                                  locale="es-PE")
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.goto(f"{live}/auth/login")
    tab.fill("input[name=username]", "navegador")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form:has(input[name=password]) button[type=submit]")
    tab.wait_for_load_state()
    tab.base = live
    yield tab
    context.close()


def _draw_with_mouse(page, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()  # events go to viewport coordinates
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(box["x"] + 20 + step * (box["width"] - 40) / 24,
                        box["y"] + box["height"] / 2 + (15 if step % 2 else -15))
    page.mouse.up()


def _draw_with_touch(page, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()  # touches go to viewport coordinates
    box = page.locator(selector).bounding_box()
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + 30, box["y"] + box["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0,
                                                                                 "y": y0}]})
    for step in range(1, 20):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": x0 + step * 12, "y": y0 + (20 if step % 2 else -20)}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_signature_pad_with_mouse_and_touch(app, page, make_family):
    seed(app)
    family = make_family()
    agreement_id = agreement_in_state(app, family, "draft")
    page.goto(f"{page.base}/agreements/{agreement_id}/sign")
    assert page.input_value("#family_signature") == ""
    _draw_with_mouse(page, "[data-target=family_signature] canvas")
    _draw_with_touch(page, "[data-target=staff_signature] canvas")
    assert page.input_value("#family_signature").startswith("data:image/png;base64,")
    assert page.input_value("#staff_signature").startswith("data:image/png;base64,")
    # "Clear" empties the pad and its field; drawing again fills it.
    page.click("[data-target=family_signature] .sigpad-clear")
    assert page.input_value("#family_signature") == ""
    _draw_with_mouse(page, "[data-target=family_signature] canvas")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**/agreements/{agreement_id}")
    assert "coincide con el contenido congelado" in page.content()
    widths = page.eval_on_selector_all(".signature img", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths == [600, 600]
    agreement = get_agreement(app, agreement_id)
    assert agreement.status == "signed"
    assert agreement.signed_on_paper is False
    assert page.errors == []


def test_paper_mode_hides_the_pads(app, page, make_family):
    seed(app)
    agreement_id = agreement_in_state(app, make_family(), "draft")
    page.goto(f"{page.base}/agreements/{agreement_id}/sign")
    assert page.is_visible("[data-target=family_signature] canvas")
    assert not page.is_visible("#paper_date")
    page.check("input[name=mode][value=paper]")
    assert not page.is_visible("[data-target=family_signature] canvas")
    page.fill("#paper_date", "2026-01-05")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"**/agreements/{agreement_id}")
    assert get_agreement(app, agreement_id).signed_on_paper is True
    assert page.errors == []


def test_attendance_filter_and_save(app, page, make_community, make_family):
    community = make_community(code="C700", name="Santa Rosa")
    names = [("Rosa", "Tapullima Sangama"), ("José", "Chuquizuta Díaz"), ("Ángel", "Vela Ríos")]
    families = [make_family(community_id=community, head_given_names=g, head_surname=s)
                for g, s in names]
    from fieldapp.trainings.models import Attendance, TrainingSession

    with app.app_context():
        session = TrainingSession(code="T-1", held_on=get_today(app), topic="Poda",
                                  community_id=community, trainer_name="W", duration_hours=2)
        db.session.add(session)
        db.session.commit()
        session_id = session.id
    page.goto(f"{page.base}/trainings/{session_id}")
    page.fill("#family-filter", "angel vela")  # accents and case do not matter
    visible = page.eval_on_selector_all(
        "#attendance-list li", "items => items.filter(i => !i.hidden).map(i => i.dataset.search)")
    assert len(visible) == 1
    assert "Vela Ríos" in visible[0]
    page.keyboard.press("Enter")  # ticks the only family left
    assert page.text_content(".present-count") == "1"
    page.fill("#family-filter", "chuqui")
    page.check(f"input[value='{families[1]}']")
    page.fill(f"input[name='name-{families[1]}']", "Lucía Chuquizuta")
    with page.expect_navigation():  # the form is sent through the tablet's outbox script
        page.click("button.sticky-save")
    with app.app_context():
        rows = db.session.execute(select(Attendance)).scalars().all()
        present = {(a.family_id, a.attendee_name) for a in rows if not a.voided}
    assert present == {(families[2], None), (families[1], "Lucía Chuquizuta")}
    assert page.errors == []


def get_today(app) -> Any:
    from fieldapp.submissions import local_today

    with app.test_request_context():
        return local_today()


def test_idempotency_key_is_a_uuid_in_every_outbox_form(app, page, make_family):
    """The PWA replays these forms with their key: each has one, and the attribute it looks for."""
    seed(app)
    family = make_family()
    draft = agreement_in_state(app, family, "draft")
    page.goto(f"{page.base}/agreements/{draft}/sign")
    key = page.input_value("form[data-outbox=agreement-signature] input[name=idempotency_key]")
    assert uuid.UUID(key)
    assert page.errors == []


def test_a_stale_sign_on_the_pad_message_clears_when_the_person_signs(app, page, make_family):
    seed(app)
    agreement_id = agreement_in_state(app, make_family(), "draft")
    page.goto(f"{page.base}/agreements/{agreement_id}/sign")
    page.click("button[type=submit].primary")  # nobody signed yet
    family_error = ".sigpad-field:has([data-target=family_signature]) .error"
    staff_error = ".sigpad-field:has([data-target=staff_signature]) .error"
    page.wait_for_selector(family_error)
    assert "Firme en el recuadro" in page.inner_text(family_error)
    staff_errors = page.locator(staff_error).count()
    page.locator("[data-target=family_signature] canvas").scroll_into_view_if_needed()
    _draw_with_mouse(page, "[data-target=family_signature] canvas")
    assert page.input_value("#family_signature").startswith("data:image/png")
    assert page.locator(family_error).count() == 0
    assert page.locator(".sigpad-field.has-error:has([data-target=family_signature])").count() == 0
    assert page.locator(staff_error).count() == staff_errors  # only the signed pad's
    assert [e for e in page.errors if "422" not in e] == []  # the refused send is a 422
