"""The tablet PWA in a real headless Chromium against a real server: offline work, the outbox,
shared tablets, updates, offline search and scanning. Screenshots (800×1280) go to
test-artifacts/screenshots/ for review."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pwa_support import (
    LiveServer,
    demo_node,
    draw,
    fill_family,
    foreign,
    launch,
    login,
    login_and_prepare,
    outbox,
    page_of,
    playwright_env,
    poll,
    record_requests,
    screenshot,
    submit,
    wait_outbox_empty,
    wait_ready,
)
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.families.models import Family

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    playwright_env()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[LiveServer]:
    """A field node holding the demo program, CSRF on, served on 127.0.0.1."""
    with demo_node(tmp_path_factory.mktemp("pwa-node"), demo_db, "PWA",
                   "00000000-0000-0000-0000-00000000beef", replay_ms=3000) as server:
        yield server


@pytest.fixture
def site(node: LiveServer) -> Iterator[LiveServer]:
    node.node_down = False
    node.posts.clear()
    salt = node.app.config["PWA_VERSION_SALT"]
    yield node
    node.node_down = False
    node.app.config["PWA_VERSION_SALT"] = salt


@pytest.fixture
def tablet(playwright: Any, tmp_path: Path, site: LiveServer) -> Iterator[Callable[..., Any]]:
    """Open the tablet's browser (same profile every time: storage survives a restart)."""
    opened: list[Any] = []
    log: list[str] = []

    def open_browser(profile: str = "tablet", **options: Any) -> Any:
        context = launch(playwright, tmp_path / profile, **options)
        record_requests(context, log)
        opened.append(context)
        return context

    open_browser.requests = log  # type: ignore[attr-defined]
    yield open_browser
    for context in opened:
        try:
            context.close()
        except Exception:  # noqa: S110 - already closed by the test
            pass
    assert foreign(log, site.url) == [], "a request left the app's origin"


def count_families(site: LiveServer, **where: Any) -> int:
    with site.app.app_context():
        stmt = select(func.count(Family.id))
        for name, value in where.items():
            stmt = stmt.where(getattr(Family, name) == value)
        return db.session.scalar(stmt)


def badge(page: Any) -> dict[str, str]:
    return page.eval_on_selector("#pwa-badge", "b => ({...b.dataset, text: b.textContent})")


def test_forms_saved_offline_are_sent_once_after_a_restart(site: LiveServer, tablet: Any) -> None:
    surname = f"Offline {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    screenshot(page, "01-home-online")

    browser.set_offline(True)
    page.goto(site.url + "/families/new")
    fill_family(page, "Rosa", surname)
    screenshot(page, "02-family-form-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert "Guardado en esta tableta" in page.inner_text(".pwa-saved")
    screenshot(page, "03-saved-on-tablet")
    page.click(".pwa-saved a.button.primary")  # "Nuevo registro": the stored page, a new key
    fill_family(page, "Juana", surname + " B")
    submit(page)
    page.wait_for_selector(".pwa-saved")

    items = outbox(page)
    assert [i["kind"] for i in items] == ["family", "family"]
    assert len({i["key"] for i in items}) == 2
    assert all(i["user"] == "promotor" and i["status"] == "waiting" for i in items)
    page.reload()
    wait_ready(page)
    page.goto(site.url + "/pwa/outbox")
    page.wait_for_selector("#outbox-items li.outbox-item")
    assert page.locator("#outbox-items li.outbox-item").count() == 2
    assert badge(page)["state"] == "offline"
    assert badge(page)["waiting"] == "2"
    persisted = page.evaluate("navigator.storage.persisted()")
    assert page.is_visible("#outbox-persist-warning") is (not persisted)
    screenshot(page, "04-outbox-waiting")
    browser.close()
    assert count_families(site, head_surname=surname) == 0

    # The tablet restarts (new browser, same storage), still out of the node's reach. (Chromium
    # fires Background Sync at start-up before the test's offline emulation reaches the service
    # worker, so the node itself stays mute until the test says otherwise.)
    site.node_down = True
    browser = tablet(offline=True)
    page = page_of(browser)
    page.goto(site.url + "/pwa/outbox")
    wait_ready(page)
    assert len(outbox(page)) == 2
    site.node_down = False
    browser.set_offline(False)
    wait_outbox_empty(page)
    assert count_families(site, head_surname=surname) == 1
    assert count_families(site, head_surname=surname + " B") == 1
    poll(page, "document.querySelector('#pwa-badge').dataset.state === 'online'")
    page.reload()
    wait_ready(page)
    page.wait_for_selector("#outbox-sent li.outbox-sent a")
    state = badge(page)
    assert state["state"] == "online"
    assert state["waiting"] == "0"
    assert "último envío" in state["text"]
    assert page.locator("#outbox-sent li.outbox-sent").count() == 2
    screenshot(page, "05-outbox-sent")
    assert site.posts.count("/families/new") == 2
    # The service worker's own requests (the precache) are among those checked for the origin.
    assert any(u.endswith("/static/icons/maskable-512.png") for u in tablet.requests)


def _field_records(site: LiveServer) -> dict[str, Any]:
    """A family with an active agreement, a session held today in its community, a draft."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.agreements.operations import agreement_for_delivery
    from fieldapp.submissions import local_today
    from fieldapp.trainings.operations import create_session

    with site.app.test_request_context():
        today = local_today()
        candidates = db.session.execute(
            select(Family).where(Family.voided.is_(False)).order_by(Family.code)
        ).scalars()
        family = next(f for f in candidates if agreement_for_delivery(f.id, today) is not None)
        session = create_session({
            "held_on": today, "topic": f"Injertos {uuid.uuid4().hex[:4]}",
            "community_id": str(family.community_id), "trainer_name": "Wilmer",
            "place": "Local comunal", "duration_hours": "2", "notes": "",
        })
        draft = db.session.execute(
            select(Agreement).where(Agreement.status == "draft", Agreement.voided.is_(False))
            .order_by(Agreement.number).limit(1)
        ).scalar_one()
        db.session.commit()
        return {"family": str(family.id), "family_name": family.head_surname,
                "session": str(session.id), "draft": str(draft.id)}


def _counts(site: LiveServer, records: dict[str, Any]) -> dict[str, Any]:
    from fieldapp.agreements.models import Agreement, Signature
    from fieldapp.compliance.models import ComplianceVisit, VisitFinding
    from fieldapp.deliveries.models import Delivery
    from fieldapp.trainings.models import Attendance

    with site.app.app_context():
        family = uuid.UUID(records["family"])
        draft = uuid.UUID(records["draft"])
        return {
            "deliveries": db.session.scalar(
                select(func.count(Delivery.id)).where(Delivery.family_id == family,
                                                      Delivery.item == "Plantones (offline)")),
            "attendance": db.session.scalar(
                select(func.count(Attendance.id)).where(
                    Attendance.session_id == uuid.UUID(records["session"]),
                    Attendance.family_id == family)),
            "visits": db.session.scalar(
                select(func.count(ComplianceVisit.id)).where(
                    ComplianceVisit.family_id == family, ComplianceVisit.notes == VISIT_NOTE)),
            "findings_met": db.session.scalar(
                select(func.count(VisitFinding.id)).join(ComplianceVisit).where(
                    ComplianceVisit.notes == VISIT_NOTE, VisitFinding.result == "met")),
            "signed": db.session.get(Agreement, draft).status,
            "signatures": db.session.scalar(
                select(func.count(Signature.id)).where(Signature.agreement_id == draft)),
        }


VISIT_NOTE = f"Visita sin conexión {uuid.uuid4().hex[:6]}"


def test_cycle_forms_saved_offline_reach_the_node_exactly_once(
    site: LiveServer, tablet: Any
) -> None:
    records = _field_records(site)
    assert _counts(site, records) == {"deliveries": 0, "attendance": 0, "visits": 0,
                                      "findings_met": 0, "signed": "draft", "signatures": 0}
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    browser.set_offline(True)

    # Delivery: the stored generic form; the family comes from the tablet's data (?family=).
    page.goto(site.url + "/deliveries/new?family=" + records["family"])
    page.wait_for_selector("form[data-outbox='delivery'][data-outbox-ready='1']")
    page.wait_for_selector(".family-picker-chosen:not([hidden])")
    assert records["family_name"] in page.inner_text(".family-picker-chosen")
    assert page.input_value("input[name=family_id]") == records["family"]
    options = page.eval_on_selector_all("#benefit_type_id option", "os => os.map(o => o.value)")
    page.select_option("#benefit_type_id", [v for v in options if v][0])
    page.fill("#item", "Plantones (offline)")
    page.fill("#quantity", "2")
    draw(page, "form[data-outbox='delivery'] .sigpad")  # the receipt, signed offline
    assert page.input_value("#receipt_signature").startswith("data:image/png")
    screenshot(page, "14-delivery-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")

    # Attendance: the session's sheet was stored at login.
    page.goto(site.url + "/trainings/" + records["session"])
    page.wait_for_selector("form[data-outbox='attendance'][data-outbox-ready='1']")
    page.check(f"input[name=family][value='{records['family']}']")
    screenshot(page, "15-attendance-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")

    # Compliance visit: the stored generic form; agreement and commitments from the tablet.
    page.goto(site.url + "/compliance/visits/new?family=" + records["family"])
    page.wait_for_selector("form[data-outbox='visit'][data-outbox-ready='1']")
    page.wait_for_selector("[data-visit-findings] .finding")
    assert page.input_value("input[name=agreement_id]") != ""
    page.click("[data-visit-findings] .finding:first-child .seg-met")
    page.fill("#notes", VISIT_NOTE)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "15b-visit-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")

    # Agreement signature: the draft's sign page was stored at login; the pad works offline.
    page.goto(site.url + f"/agreements/{records['draft']}/sign")
    page.wait_for_selector("form[data-outbox='agreement-signature'][data-outbox-ready='1']")
    for field in ("family_signature", "staff_signature"):
        draw(page, f".sigpad[data-target={field}]")
    screenshot(page, "16-signature-offline")
    submit(page)
    page.wait_for_selector(".pwa-saved")

    kinds = ["delivery", "attendance", "visit", "agreement-signature"]
    assert [i["kind"] for i in outbox(page)] == kinds
    page.reload()
    wait_ready(page)
    assert len(outbox(page)) == 4
    browser.close()
    assert _counts(site, records)["deliveries"] == 0

    site.node_down = True  # see the restart test: the node stays mute while the tablet restarts
    browser = tablet(offline=True)
    page = page_of(browser)
    page.goto(site.url + "/pwa/outbox")
    wait_ready(page)
    assert len(outbox(page)) == 4
    site.node_down = False
    browser.set_offline(False)
    wait_outbox_empty(page)
    assert _counts(site, records) == {"deliveries": 1, "attendance": 1, "visits": 1,
                                      "findings_met": 1, "signed": "signed", "signatures": 2}
    page.reload()
    wait_ready(page)
    poll(page, "document.querySelector('#pwa-badge').dataset.state === 'online'")
    state = badge(page)
    assert state["waiting"] == "0"
    assert state["rejected"] == "0"
    assert "último envío" in state["text"]
    screenshot(page, "17-outbox-after-sync")


def test_background_sync_sends_with_no_page_open(site: LiveServer, tablet: Any) -> None:
    surname = f"Sync {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    browser.set_offline(True)
    page.goto(site.url + "/families/new")
    fill_family(page, "Nelly", surname)
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert "fieldapp-outbox" in page.evaluate("fieldappRegistration.sync.getTags()")
    browser.close()

    # Back in reach, no page of the app open: the browser wakes the service worker for the sync.
    # (Chromium judges connectivity by the machine, not by the test's emulation, so it may have
    # tried already while the test kept the tablet offline and be waiting out its back-off: the
    # test fires the sync event as DevTools' "Sync" button does.)
    browser = tablet()
    assert [p.url for p in browser.pages] in ([], ["about:blank"])
    cdp = browser.new_cdp_session(page_of(browser))
    registrations: list[str] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(
        r["registrationId"] for r in event["registrations"] if r["scopeURL"] == site.url + "/"))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        page_of(browser).wait_for_timeout(100)
    assert count_families(site, head_surname=surname) in (0, 1)  # 1: the browser was quicker
    cdp.send("ServiceWorker.dispatchSyncEvent", {
        "origin": site.url, "registrationId": registrations[0], "tag": "fieldapp-outbox",
        "lastChance": False,
    })
    deadline = time.monotonic() + 20
    while count_families(site, head_surname=surname) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert count_families(site, head_surname=surname) == 1


def test_a_rejected_item_shows_its_reason_and_can_be_corrected(
    site: LiveServer, tablet: Any
) -> None:
    surname = f"Rechazo {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotora")
    browser.set_offline(True)
    page.goto(site.url + "/families/new")
    fill_family(page, "Elmer", surname, dni="1234")  # the node wants 8 digits
    submit(page)
    page.wait_for_selector(".pwa-saved")

    browser.set_offline(False)
    page.goto(site.url + "/pwa/outbox")
    page.wait_for_selector("#outbox-items li[data-status=rejected]", timeout=20000)
    reason = page.inner_text("#outbox-items li[data-status=rejected]")
    assert "8 dígitos" in reason
    assert badge(page)["rejected"] == "1"
    screenshot(page, "06-outbox-rejected")
    assert count_families(site, head_surname=surname) == 0

    page.click("#outbox-items li[data-status=rejected] a.button.primary")  # "Corregir"
    page.wait_for_selector("form[data-outbox] .has-error #dni")
    assert page.input_value("#dni") == "1234"
    assert page.input_value("#head_surname") == surname
    screenshot(page, "07-correcting-rejected")
    page.fill("#dni", "87654321")
    with page.expect_navigation():
        submit(page)
    assert "/families/" in page.url
    wait_outbox_empty(page)
    assert count_families(site, head_surname=surname, dni="87654321") == 1


def test_a_form_refused_while_online_shows_the_errors_in_place(
    site: LiveServer, tablet: Any
) -> None:
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    page.goto(site.url + "/families/new")
    fill_family(page, "Luz", "Sin DNI válido", dni="12")
    submit(page)
    page.wait_for_selector(".field.has-error #dni")
    assert "8 dígitos" in page.inner_text(".field.has-error")
    # Kept on the tablet, rejected, until the node accepts it (leaving the page loses nothing).
    assert [i["status"] for i in outbox(page)] == ["rejected"]
    page.fill("#dni", "11223344")
    with page.expect_navigation():
        submit(page)
    page.wait_for_selector("main .flash-success")
    assert "Guardado." in page.inner_text("main .flash-success")
    assert count_families(site, dni="11223344") == 1
    assert outbox(page) == []  # the corrected item took the refused one's place, and left


def test_another_user_on_the_tablet_never_sends_the_first_users_items(
    site: LiveServer, tablet: Any
) -> None:
    surname = f"Compartida {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    browser.set_offline(True)
    page.goto(site.url + "/families/new")
    fill_family(page, "Teodoro", surname)
    submit(page)
    page.wait_for_selector(".pwa-saved")
    page.goto(site.url + "/")
    with page.expect_navigation():
        page.click("#logout-form button")  # logs out with no node: the tablet forgets the user
    assert page.evaluate("caches.keys()") == [k for k in page.evaluate("caches.keys()")
                                              if not k.startswith("fieldapp-pages-")]
    assert page.evaluate("FieldappOutbox.searchFamilies('a')") == []
    assert len(outbox(page)) == 1  # the outbox stays

    browser.set_offline(False)
    page.goto(site.url + "/")  # the node's session is closed on the first page with a connection
    page.wait_for_url("**/auth/login**")
    login_and_prepare(page, site.url, "promotora")
    page.goto(site.url + "/pwa/outbox")
    page.wait_for_selector("#outbox-items li.outbox-item")
    page.click("#outbox-send-now")
    page.wait_for_timeout(1500)
    text = page.inner_text("#outbox-items")
    assert "promotor" in text
    assert "Teodoro" not in text
    assert count_families(site, head_surname=surname) == 0
    assert [i["status"] for i in outbox(page)] == ["waiting"]
    screenshot(page, "08-outbox-other-user")

    page.goto(site.url + "/")
    wait_ready(page)
    with page.expect_navigation():
        page.click("#logout-form button")
    page.wait_for_url("**/auth/login**")
    login(page, site.url, "promotor")
    wait_outbox_empty(page)
    assert count_families(site, head_surname=surname) == 1


def test_a_new_version_waits_for_the_form_and_replays_old_items(
    site: LiveServer, tablet: Any
) -> None:
    surname = f"Version {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    old = page.evaluate("FieldappOutbox.getMeta('swVersion')")
    site.node_down = True  # pages load, the outbox cannot deliver
    page.goto(site.url + "/families/new")
    wait_ready(page)
    fill_family(page, "Marcos", surname)
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert [i["app_version"] for i in outbox(page)] == [old]

    site.app.config["PWA_VERSION_SALT"] = "next-deployment"
    page.goto(site.url + "/families/new")
    wait_ready(page)
    page.fill("#head_given_names", "a form being typed")
    poll(page, "!!window.fieldappRegistration")
    page.evaluate("fieldappRegistration.update()")
    poll(page, "fieldappRegistration.waiting !== null", 20000)
    page.wait_for_timeout(1000)
    assert page.is_hidden("#pwa-update")  # never while a form is being edited

    page.goto(site.url + "/pwa/outbox")
    page.wait_for_selector("#pwa-update", state="visible", timeout=10000)
    screenshot(page, "09-update-offered")
    with page.expect_navigation():
        page.click("#pwa-update-reload")
    wait_ready(page)
    new = page.evaluate("FieldappOutbox.getMeta('swVersion')")
    assert new != old
    assert len(outbox(page)) == 1
    site.node_down = False
    page.click("#outbox-send-now")
    wait_outbox_empty(page)
    assert count_families(site, head_surname=surname) == 1


# The IndexedDB schema and item shape the first release wrote (database version 1, items
# with their fields as an object): a tablet updated from it must still send what it holds.
OLD_TABLET_SCRIPT = """([item]) => new Promise((resolve, reject) => {
  const req = indexedDB.open("fieldapp", 1);
  req.onupgradeneeded = () => {
    const db = req.result;
    const outbox = db.createObjectStore("outbox", {keyPath: "seq", autoIncrement: true});
    outbox.createIndex("user", "user");
    db.createObjectStore("sent", {keyPath: "key"}).createIndex("sent_at", "sent_at");
    db.createObjectStore("meta", {keyPath: "k"});
    const families = db.createObjectStore("families", {keyPath: "id"});
    families.createIndex("code", "code");
    families.createIndex("dni", "dni");
    db.createObjectStore("communities", {keyPath: "id"});
    db.createObjectStore("agreements", {keyPath: "id"}).createIndex("family_id", "family_id");
    db.createObjectStore("benefit_types", {keyPath: "id"});
    db.createObjectStore("commitment_types", {keyPath: "id"});
  };
  req.onsuccess = () => {
    const db = req.result;
    const tx = db.transaction(["outbox"], "readwrite");
    tx.objectStore("outbox").put(item);
    tx.oncomplete = () => { db.close(); resolve(true); };
    tx.onerror = () => reject(tx.error);
  };
  req.onerror = () => reject(req.error);
})"""


def test_items_stored_by_an_older_release_are_sent_after_the_update(
    site: LiveServer, tablet: Any
) -> None:
    surname = f"Antigua {uuid.uuid4().hex[:6]}"
    with site.app.app_context():
        from fieldapp.communities.models import Community

        community = str(db.session.scalars(select(Community.id).limit(1)).one())
    browser = tablet()
    page = page_of(browser)
    page.goto(site.url + "/manifest.webmanifest")  # the origin, without the app's scripts
    page.evaluate(OLD_TABLET_SCRIPT, [{
        "kind": "family", "user": "promotor", "url": "/families/new",
        "key": str(uuid.uuid4()), "title": surname, "created_at": 1767225600000,
        "status": "waiting",
        "fields": {"community_id": community, "head_given_names": "Eusebia",
                   "head_surname": surname, "members_count": "5"},
    }])
    login(page, site.url, "promotor")
    wait_ready(page)
    wait_outbox_empty(page)
    assert count_families(site, head_surname=surname) == 1
    assert page.evaluate("new Promise(r => { const q = indexedDB.open('fieldapp');"
                         " q.onsuccess = () => r(q.result.version); })") == 2


def test_family_search_and_qr_work_offline(site: LiveServer, tablet: Any) -> None:
    from fieldapp.agreements.models import Agreement

    with site.app.app_context():
        # A family with agreements (the card shows their statuses): families registered by the
        # tests before this one ("AM-PWA-…") sort before the demo's and have none.
        family = db.session.execute(
            select(Family).where(Family.id.in_(select(Agreement.family_id)))
            .order_by(Family.code).limit(1)).scalar_one()
        code, name, fid = family.code, family.head_surname, str(family.id)
    browser = tablet(
        extra_args=["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    )
    # Linux Chromium has no BarcodeDetector: stand one in that "reads" the family's card.
    browser.add_init_script(
        "window.BarcodeDetector = class { constructor() {} "
        "detect() { return Promise.resolve([{rawValue: window.__qr || ''}]); } };"
    )
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    browser.set_offline(True)

    page.goto(site.url + "/families/")
    page.fill("#q", name.split()[0])
    page.press("#q", "Enter")
    page.wait_for_selector(".offline-results li a")
    assert name in page.inner_text(".offline-results")
    screenshot(page, "10-family-search-offline")

    page.goto(site.url + "/deliveries/new")  # the stored form picks the family from the tablet
    page.fill(".family-picker-search", code.lower())
    page.click(f".family-picker-results button.pick:has-text('{code}')")
    assert page.input_value("input[name=family_id]") == fid
    assert page.input_value("#receiver_name") != ""
    screenshot(page, "10b-family-picker-offline")

    page.goto(site.url + "/pwa/scan")
    page.fill("#scan-code", code.lower())
    with page.expect_navigation():
        page.press("#scan-code", "Enter")
    assert page.url.endswith("/families/" + fid)
    page.wait_for_selector("#offline-family:not([hidden])")  # not stored: the offline card
    assert code in page.inner_text("#offline-family")
    # Its agreements' statuses in Spanish, from the label table (was "AM-… (active)").
    agreements = page.inner_text(".offline-family-agreements")
    assert "(" in agreements, agreements
    assert not re.search(r"\((draft|signed|active|suspended|completed|terminated|superseded)\)",
                         agreements), agreements
    screenshot(page, "11-family-card-offline")

    page.goto(site.url + "/pwa/scan")
    page.fill("#scan-code", "AM-NOPE-9999")
    page.press("#scan-code", "Enter")
    page.wait_for_selector("#scan-error:not([hidden])")

    page.evaluate(f"window.__qr = {site.url + '/families/' + fid!r}")
    page.wait_for_selector("#scan-start", state="visible")
    screenshot(page, "12-scan")
    with page.expect_navigation():
        page.click("#scan-start")
    assert page.url.endswith("/families/" + fid)


def qr_video(path: Path, text: str, size: tuple[int, int] = (640, 480), frames: int = 3) -> Path:
    """A Y4M video (what Chromium's fake camera plays, in a loop) of a QR code of ``text`` held
    in front of the camera: 4:2:0 planes made with Pillow from the ``qrcode`` package's image."""
    import qrcode
    from PIL import Image

    code = qrcode.make(text, box_size=6, border=4).convert("L")
    side = min(size) - 40
    scene = Image.new("L", size, 200)  # a grey table under the card
    scene.paste(code.resize((side, side), Image.NEAREST),
                ((size[0] - side) // 2, (size[1] - side) // 2))
    y, u, v = scene.convert("RGB").convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    planes = y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes()
    header = f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"".join(b"FRAME\n" + planes for _ in range(frames)))
    return path


def test_qr_scan_works_without_barcode_detector(site: LiveServer, tablet: Any,
                                                tmp_path: Path) -> None:
    """Firefox, Safari before 17, Chromium on Linux: no BarcodeDetector. The vendored jsQR reads
    a printed agreement's QR (central's verification URL) from the camera, and the tablet opens
    the agreement. The camera is Chromium's fake device playing a video of the QR code."""
    from fieldapp.agreements.models import Agreement

    with site.app.app_context():
        agreement = db.session.execute(select(Agreement).where(
            Agreement.content_hash.is_not(None)).order_by(Agreement.number).limit(1)).scalar_one()
        aid, digest = str(agreement.id), agreement.content_hash
    url = f"https://central.altomayo.example.org/verify/{aid}/{digest}"
    video = qr_video(tmp_path / "qr.y4m", url)
    browser = tablet(extra_args=["--use-fake-device-for-media-stream",
                                 "--use-fake-ui-for-media-stream",
                                 f"--use-file-for-fake-video-capture={video}"])
    browser.add_init_script("delete window.BarcodeDetector;")  # force the fallback
    page = page_of(browser)
    login(page, site.url, "promotor")
    page.goto(site.url + "/pwa/scan")
    assert page.evaluate("'BarcodeDetector' in window") is False
    page.wait_for_selector("#scan-start", state="visible")
    with page.expect_navigation(url=f"**/agreements/{aid}", timeout=20000):
        page.click("#scan-start")
    assert page.evaluate("typeof window.jsQR") == "undefined"  # a new page: it was loaded there
    assert any(u.endswith("/static/vendor/jsqr/jsQR.js") for u in tablet.requests)


def test_every_nav_page_works_offline_and_the_offline_page_speaks_calmly(
        site: LiveServer, tablet: Any) -> None:
    """A promotor's day: every page of the navigation opens with no connection; a family page
    not stored shows the family under a calm heading, the badge remembers the last send, and
    logging out offline says the session closed and what stays queued."""
    with site.app.app_context():
        family = db.session.execute(select(Family).order_by(Family.code.desc()).limit(1)
                                    ).scalar_one()
        fid = str(family.id)
    surname = f"Enviada {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    page.goto(site.url + "/families/new")
    fill_family(page, "Rosa", surname)
    submit(page)  # sent at once: the tablet has sent something
    wait_outbox_empty(page)
    poll(page, "FieldappOutbox.getMeta('lastSent:promotor').then(v => !!v)")
    page.goto(site.url + "/")
    links = page.eval_on_selector_all(".mainnav a", "as => as.map(a => a.href)")
    assert any("/deliveries/" in u for u in links)
    assert any("/compliance/" in u for u in links)

    browser.set_offline(True)
    for link in links:
        page.goto(link)
        assert page.evaluate("document.body.dataset.offlinePage") != "1", link
        assert "no está guardada" not in page.inner_text("main"), link

    page.goto(f"{site.url}/families/{fid}")  # a family's page: never opened on this tablet
    page.wait_for_selector("#offline-family:not([hidden])")
    assert page.is_hidden("#offline-note")
    assert "Sin conexión: lo que esta tableta guarda de esta familia" in page.inner_text("main")
    poll(page, "document.querySelector('#pwa-badge .netbadge-last').textContent.length > 0")
    last = page.inner_text("#pwa-badge .netbadge-last")
    assert "último envío" in last
    assert "nada enviado" not in last
    screenshot(page, "11c-family-card-offline-calm")

    page.goto(site.url + "/families/new")
    fill_family(page, "Juana", surname + " B")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    with page.expect_navigation():
        page.click("#logout-form button")
    page.wait_for_selector("#offline-logged-out:not([hidden])")
    assert page.is_hidden("#offline-note")
    assert "Sesión cerrada" in page.inner_text("#offline-logged-out")
    poll(page, "document.querySelector('.offline-queued').textContent.length > 0")
    queued = page.inner_text(".offline-queued")
    assert "1 formulario sigue en la bandeja de salida" in queued
    assert "promotor" in queued
    screenshot(page, "13b-logged-out-offline")


def test_pages_of_a_user_are_not_kept_after_logout(site: LiveServer, tablet: Any) -> None:
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    names = page.evaluate("caches.keys()")
    assert "fieldapp-pages-promotor" in names
    with page.expect_navigation():
        page.click("#logout-form button")
    assert not [n for n in page.evaluate("caches.keys()") if n.startswith("fieldapp-pages-")]
    browser.set_offline(True)
    page.goto(site.url + "/families/new")
    assert page.evaluate("document.body.dataset.offlinePage") == "1"  # not the stored form
    screenshot(page, "13-offline-page")


def _delivery_records(site: LiveServer) -> dict[str, Any]:
    """A family with an active agreement and a benefit it was promised (by its option value)."""
    from fieldapp.agreements.operations import agreement_for_delivery
    from fieldapp.submissions import local_today

    with site.app.test_request_context():
        today = local_today()
        for family in db.session.execute(
            select(Family).where(Family.voided.is_(False)).order_by(Family.code)
        ).scalars():
            agreement = agreement_for_delivery(family.id, today)
            promised = [b for b in agreement.benefits if not b.voided] if agreement else []
            if promised:
                return {"family": str(family.id), "benefit": str(promised[0].benefit_type_id)}
    raise AssertionError("no family with a promised benefit in the demo")


def _deliveries_of(site: LiveServer, item: str) -> list[Any]:
    from fieldapp.deliveries.models import Delivery

    with site.app.app_context():
        return list(db.session.execute(
            select(Delivery.quantity, Delivery.over_promise_confirmed, Delivery.receipt_kind)
            .where(Delivery.item == item)).all())


def _fill_over_promise(page: Any, records: dict[str, Any], item: str) -> None:
    """A delivery far above what the agreement promises, with its article and a signature."""
    page.wait_for_selector("form[data-outbox='delivery'][data-outbox-ready='1']")
    page.select_option("#benefit_type_id", records["benefit"])
    page.fill("#item", item)
    page.fill("#quantity", "999999")
    page.fill("#unit", page.input_value("#unit"))
    draw(page, "form[data-outbox='delivery'] .sigpad")


FORM_STATE = """() => {
  const form = document.querySelector("form[data-outbox='delivery']");
  const canvas = form.querySelector(".sigpad canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) inked += 1;
  const value = (name) => form.querySelector(`[name=${name}]`).value;
  return {item: value("item"), quantity: value("quantity"), unit: value("unit"),
          benefit: value("benefit_type_id"), receiver: value("receiver_name"),
          signature: value("receipt_signature"), inked: inked};
}"""


def test_a_rejected_delivery_is_corrected_with_every_field_and_never_lost(
    site: LiveServer, tablet: Any
) -> None:
    """Offline delivery with its article and signature, above the promise; back online it is
    rejected; "Corregir" reopens it whole (signature redrawn); refused again it stays in the
    outbox as it was; leaving the page warns and keeps it; confirming sends it, once."""
    records = _delivery_records(site)
    item = f"Plantones rechazados {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    browser.set_offline(True)
    page.goto(site.url + "/deliveries/new?family=" + records["family"])
    page.wait_for_selector(".family-picker-chosen:not([hidden])")
    _fill_over_promise(page, records, item)
    typed = page.evaluate(FORM_STATE)
    assert typed["signature"].startswith("data:image/png")
    assert typed["inked"] > 50
    submit(page)
    page.wait_for_selector(".pwa-saved")

    browser.set_offline(False)
    page.goto(site.url + "/pwa/outbox")
    page.wait_for_selector("#outbox-items li[data-status=rejected]", timeout=20000)
    [stored] = outbox(page)
    assert stored["error"]["code"] == "over_promise"
    page.click("#outbox-items li[data-status=rejected] a.button.primary")  # "Corregir"
    page.wait_for_selector(".confirm-box:not([hidden]) input[name=confirm_over_promise]")
    poll(page, f"({FORM_STATE})().inked > 50")
    reopened = page.evaluate(FORM_STATE)
    assert {k: reopened[k] for k in ("item", "quantity", "unit", "benefit", "receiver",
                                     "signature")} == {
        k: typed[k] for k in ("item", "quantity", "unit", "benefit", "receiver", "signature")}
    box = page.inner_text(".confirm-box")
    status = page.inner_text(".pwa-form-status")
    assert (box + status).count("Marque la casilla") == 1
    screenshot(page, "18-delivery-correcting")
    # Another benefit brings its unit (the restored one was the benefit's); the typed article
    # stays. Back to the first benefit, the form is as it was.
    units = page.eval_on_selector_all(
        "#benefit_type_id option", "os => os.map(o => [o.value, o.dataset.unit || ''])")
    other = next((v, u) for v, u in units if v and u != typed["unit"])
    page.select_option("#benefit_type_id", other[0])
    assert (page.input_value("#unit"), page.input_value("#item")) == (other[1], item)
    page.select_option("#benefit_type_id", records["benefit"])
    assert (page.input_value("#unit"), page.input_value("#item")) == (typed["unit"], item)

    # Sent again as it is: refused again, and still in the outbox, unchanged.
    submit(page)
    page.wait_for_selector(".pwa-form-status.flash-error")
    poll(page, "document.querySelector('form[data-outbox]').dataset.outboxBusy !== '1'")
    [again] = outbox(page)
    assert (again["seq"], again["status"], again["key"]) == (stored["seq"], "rejected",
                                                             stored["key"])
    assert page.evaluate(f"FieldappOutbox.getItem({stored['seq']}).then(i => i.fields"
                         ".find(f => f[0] === 'item')[1])") == item
    assert _deliveries_of(site, item) == []

    # Leaving the page warns; leaving anyway loses nothing.
    page.fill("#receiver_name", typed["receiver"] + " ")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    with page.expect_navigation():
        page.click("form[data-outbox] a.button")  # "Cancelar"
    assert dialogs == ["beforeunload"]
    page.goto(site.url + "/pwa/outbox")
    page.wait_for_selector("#outbox-items li[data-status=rejected]")
    assert [i["seq"] for i in outbox(page)] == [stored["seq"]]

    # Corrected with no connection (the tablet's stored page): the confirmation ticked, saved,
    # sent once back in reach, accepted, gone from the outbox.
    browser.set_offline(True)
    page.reload()
    page.wait_for_selector("#outbox-items li[data-status=rejected]")
    page.click("#outbox-items li[data-status=rejected] a.button.primary")
    page.wait_for_selector(".confirm-box:not([hidden]) input[name=confirm_over_promise]")
    poll(page, f"({FORM_STATE})().inked > 50")
    assert page.evaluate(FORM_STATE)["item"] == item
    page.check("input[name=confirm_over_promise]")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert [(i["seq"], i["status"]) for i in outbox(page)] == [(stored["seq"], "waiting")]
    browser.set_offline(False)
    wait_outbox_empty(page)
    assert [(q, c, r) for q, c, r in _deliveries_of(site, item)] == [(999999, True, "signature")]


def test_an_over_promise_is_confirmed_from_the_tablet_online(
    site: LiveServer, tablet: Any
) -> None:
    records = _delivery_records(site)
    item = f"Plantones de más {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    page.goto(site.url + "/deliveries/new?family=" + records["family"])
    _fill_over_promise(page, records, item)
    assert page.is_hidden("input[name=confirm_over_promise]")
    submit(page)
    page.wait_for_selector(".confirm-box:not([hidden]) input[name=confirm_over_promise]")
    box = page.inner_text(".confirm-box")
    status = page.inner_text(".pwa-form-status")
    assert (box + status).count("Marque la casilla") == 1
    assert [i["status"] for i in outbox(page)] == ["rejected"]  # kept until the node takes it
    screenshot(page, "19-delivery-confirm-over-promise")
    page.check("input[name=confirm_over_promise]")
    with page.expect_navigation():
        submit(page)
    assert "/deliveries/" in page.url
    wait_outbox_empty(page)
    assert [(q, c) for q, c, _r in _deliveries_of(site, item)] == [(999999, True)]


def test_a_refused_signature_reopens_with_both_pads_drawn(site: LiveServer, tablet: Any) -> None:
    """The same outbox mechanism on another form: an agreement signature refused at once stays
    in the outbox; Corregir redraws both signatures; corrected, it signs the agreement."""
    from fieldapp.agreements.models import Agreement

    draft = _field_records(site)["draft"]
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    page.on("dialog", lambda dialog: dialog.accept())  # leaving the refused form asks first
    page.goto(site.url + f"/agreements/{draft}/sign")
    page.wait_for_selector("form[data-outbox='agreement-signature'][data-outbox-ready='1']")
    for field in ("family_signature", "staff_signature"):
        draw(page, f".sigpad[data-target={field}]")
    drawn = [page.input_value(f"#{f}") for f in ("family_signature", "staff_signature")]
    page.fill("#family_name", "")  # the node wants the representative's name
    submit(page)
    page.wait_for_selector(".field.has-error #family_name")
    assert [i["status"] for i in outbox(page)] == ["rejected"]

    page.goto(site.url + "/pwa/outbox")
    page.click("#outbox-items li[data-status=rejected] a.button.primary")  # "Corregir"
    page.wait_for_selector(".field.has-error #family_name")
    poll(page, "document.querySelectorAll('.sigpad.inked').length === 2")
    assert [page.input_value(f"#{f}") for f in ("family_signature", "staff_signature")] == drawn
    page.fill("#family_name", "Rosa Tapullima")
    with page.expect_navigation():
        submit(page)
    wait_outbox_empty(page)
    with site.app.app_context():
        assert db.session.get(Agreement, uuid.UUID(draft)).status == "signed"


def test_a_possible_duplicate_is_confirmed_from_the_tablet(site: LiveServer, tablet: Any) -> None:
    """The tablet shows the node's possible-duplicate warning next to its checkbox; the family
    is saved only once the promotor confirms it is another family."""
    surname = f"Duplicada {uuid.uuid4().hex[:6]}"
    browser = tablet()
    page = page_of(browser)
    login_and_prepare(page, site.url, "promotor")
    page.goto(site.url + "/families/new")
    fill_family(page, "Nelly", surname)
    with page.expect_navigation():
        submit(page)
    wait_outbox_empty(page)
    page.goto(site.url + "/families/new")
    fill_family(page, "NELLY", surname)
    assert page.is_hidden("input[name=confirm_not_duplicate]")
    submit(page)
    page.wait_for_selector(".confirm-box:not([hidden]) input[name=confirm_not_duplicate]")
    assert "ya esté registrada" in page.inner_text("form[data-outbox]")
    assert count_families(site, head_surname=surname) == 1
    page.check("input[name=confirm_not_duplicate]")
    with page.expect_navigation():
        submit(page)
    wait_outbox_empty(page)
    assert count_families(site, head_surname=surname) == 2
