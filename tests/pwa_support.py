"""Helpers of the PWA browser tests: a real server in a thread, Chromium, and small page steps."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from testing.servers import ThreadServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
TABLET = {"width": 800, "height": 1280}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
DEMO_PASSWORD = "fieldapp-demo"


class LiveServer:
    """The app served on 127.0.0.1 (a free port) by a thread, like a field node on the LAN.

    ``node_down`` makes the node refuse the outbox's reachability probe (as when it is busy or
    half-up) while pages still load, so a test can hold items in the outbox with the page online.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.node_down = False
        self.posts: list[str] = []
        self._server = ThreadServer(self._wsgi)
        self.url = self._server.url

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        if self.node_down and environ.get("PATH_INFO") == "/pwa/ping":
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return iter([b"busy"])
        if environ.get("REQUEST_METHOD") == "POST":
            self.posts.append(environ.get("PATH_INFO", ""))
        return self.app(environ, start_response)

    def start(self) -> LiveServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def launch(playwright: Any, profile: Path, **options: Any) -> Any:
    """A Chromium with its own profile folder (closing and relaunching keeps its storage)."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS + options.pop("extra_args", []),
        viewport=TABLET,
        locale="es-PE",
        **options,
    )


def page_of(context: Any) -> Any:
    return context.pages[0] if context.pages else context.new_page()


def record_requests(context: Any, log: list[str]) -> None:
    """Append the URL of every request the pages and the service worker make."""
    context.on("request", lambda request: log.append(request.url))


def foreign(log: list[str], base: str) -> list[str]:
    """Requests that left the app's origin (data: and blob: URLs stay on the tablet)."""
    return [u for u in log if not (u.startswith(base + "/") or u.startswith(("data:", "blob:")))]


def poll(page: Any, expression: str, timeout: float = 15000, interval: float = 200) -> Any:
    """Wait until ``expression`` (JavaScript, may be a promise) is truthy in the page.

    Playwright's own ``wait_for_function`` polls with ``eval``, which the app's CSP forbids
    (rightly); ``evaluate`` goes through the debugging protocol and is allowed.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            value = page.evaluate(expression)
        except Exception as error:  # a navigation destroyed the context: look again
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(interval)


def wait_ready(page: Any, timeout: float = 30000) -> None:
    """The service worker controls the page and the page script has started."""
    try:
        poll(
            page,
            "navigator.serviceWorker.controller !== null"
            " && document.documentElement.dataset.pwaReady === '1'",
            timeout,
        )
    except AssertionError as error:  # say which half never came
        state = page.evaluate(
            "navigator.serviceWorker.getRegistration().then(r => JSON.stringify({"
            "controller: !!navigator.serviceWorker.controller,"
            " ready: document.documentElement.dataset.pwaReady || null,"
            " installing: r && r.installing && r.installing.state,"
            " waiting: r && r.waiting && r.waiting.state,"
            " active: r && r.active && r.active.state, url: location.href}))")
        raise AssertionError(f"{error}; page state: {state}") from None


def login(page: Any, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/auth/login")
    if not page.locator("#username").count():
        screenshot(page, "debug-login")
        raise AssertionError(f"no login form at {page.url}: {page.inner_text('body')[:300]}")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert page.evaluate("document.body.dataset.user") == username


def login_and_prepare(page: Any, base: str, username: str) -> None:
    """Log in, wait for the service worker, the stored field pages and the reference data."""
    login(page, base, username)
    wait_ready(page)
    poll(page, "document.documentElement.dataset.pwaWarm === '1'", 20000)
    poll(page, "FieldappOutbox.refInfo().then(i => !!(i && i.count))", 20000)


def outbox(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(
        "FieldappOutbox.listItems().then(items => items.map(i => ({seq: i.seq, kind: i.kind,"
        " user: i.user, status: i.status, key: i.key, app_version: i.app_version,"
        " error: i.last_error})))"
    )


def wait_outbox_empty(page: Any, timeout: float = 20000) -> None:
    poll(page, "FieldappOutbox.listItems().then(items => items.length === 0)", timeout)


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@contextlib.contextmanager
def tablet_context(profile: Path) -> Iterator[Any]:
    """One tablet: a Chromium profile of its own (service worker, IndexedDB), closed after."""
    playwright_env()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = launch(p, profile)
        try:
            yield context
        finally:
            context.close()


def playwright_env() -> None:
    """Report the service worker's own requests too (checked for third-party requests)."""
    os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")


def fill_family(page: Any, given: str, surname: str, dni: str = "") -> None:
    """The family form (stored for offline) with a community, a name and four members."""
    page.wait_for_selector("form[data-outbox='family'][data-outbox-ready='1']")
    options = page.eval_on_selector_all("#community_id option", "os => os.map(o => o.value)")
    page.select_option("#community_id", [v for v in options if v][0])
    page.fill("#head_given_names", given)
    page.fill("#head_surname", surname)
    page.fill("#members_count", "4")
    if dni:
        page.fill("#dni", dni)


def submit(page: Any) -> None:
    """Submit the outbox form of the page (it saves on the tablet when the node is away)."""
    page.click("form[data-outbox] button[type=submit]")


def draw(page: Any, pad_selector: str) -> None:
    """Sign on a signature pad with the mouse."""
    box = page.locator(pad_selector + " canvas").bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 30 + step * 25, box["y"] + box["height"] / 2 + (-1) ** step * 25)
    page.mouse.up()


@contextlib.contextmanager
def demo_node(instance: Path, demo_db: Path, node_code: str, node_id: str,
              replay_ms: int) -> Iterator[LiveServer]:
    """A field node holding a copy of the demo program, CSRF on, served on 127.0.0.1 (the
    node the tablet tests talk to)."""
    import shutil

    from fieldapp import create_app
    from fieldapp.extensions import db

    shutil.copy(demo_db, instance / "fieldapp.sqlite")
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": f"{node_code.lower()}-test-secret",
        "NODE_ID": node_id,
        "NODE_CODE": node_code,
        "AUTO_MIGRATE": False,
        "WTF_CSRF_ENABLED": True,
        "PWA_NETWORK_TIMEOUT_MS": 1500,
        "PWA_PROBE_TIMEOUT_MS": 1500,
        "PWA_REPLAY_INTERVAL_MS": replay_ms,
    })
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()
