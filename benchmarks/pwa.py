"""The tablet app in Debian's headless Chromium against a real server on the demo program.

    python benchmarks/pwa.py --json

- ``shell_bytes``: HTML + CSS + JS of a form page (/families/new), icons excluded, uncompressed;
- ``first_visit_slow3g_s``: a first visit of that page (nothing cached, no service worker yet)
  on an emulated slow 3G link (400 kbit/s both ways, 400 ms round trip) until the form is usable
  (the page script has started: the outbox is armed);
- ``offline_reload_ms``: reloading that page with no connection once the service worker has
  stored it (median of 5; navigation start to the load event);
- ``replay_200_s``: 200 forms queued in the outbox, then sent to the node when it answers again
  (loopback), until the outbox is empty.

The last line (``--json``) is one JSON object with those keys and a few more.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from _harness import cleanup, login, make_demo_instance, parser, peak_rss_mb

from testing.servers import AppProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
           "uploadThroughput": 400_000 / 8}
FORM = "/families/new"
REPLAY_ITEMS = 200


def shell_bytes(base: str) -> tuple[int, dict[str, int]]:
    """Bytes of the form page and the CSS and JS it loads (icons and manifest excluded)."""
    http = login(base, "promotor")
    html = http.get(base + FORM).content
    sizes = {FORM: len(html)}
    text = html.decode()
    assets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
    assets += re.findall(r'<script src="([^"]+)"', text)
    for path in assets:
        sizes[path] = len(http.get(base + path).content)
    return sum(sizes.values()), sizes


def poll(page: Any, expression: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        page.wait_for_timeout(50)


def browser_login(context: Any, base: str) -> None:
    """Log the browser context in through HTTP (the cookie lands in the context, no page load)."""
    page_html = context.request.get(base + "/auth/login").text()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page_html).group(1)
    response = context.request.post(base + "/auth/login", form={
        "username": "promotor", "password": "fieldapp-demo", "csrf_token": token,
    }, max_redirects=0)
    assert response.status == 302, response.status


def measure_browser(base: str, instance: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="es-PE")
        browser_login(context, base)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        page.goto(base + FORM, wait_until="commit")
        ready_ms = poll(page, "(performance.getEntriesByName('fieldapp-ready')[0] || {}).startTime")
        load_ms = poll(page, "performance.getEntriesByType('navigation')[0].loadEventEnd")

        cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, "latency": 0,
                                                      "downloadThroughput": -1,
                                                      "uploadThroughput": -1})
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        poll(page, "navigator.serviceWorker.controller !== null")
        page.reload()
        poll(page, "document.documentElement.dataset.pwaWarm === '1'")
        poll(page, "FieldappOutbox.refInfo().then(i => !!(i && i.count))")

        context.set_offline(True)
        reloads = []
        ready_offline = []
        for _ in range(5):
            page.reload(wait_until="load")
            assert page.evaluate("document.body.dataset.offlinePage") is None, "not the stored page"
            reloads.append(poll(page, "performance.getEntriesByType('navigation')[0].loadEventEnd"))
            ready_offline.append(
                poll(page, "(performance.getEntriesByName('fieldapp-ready')[0] || {}).startTime")
            )

        community = page.eval_on_selector_all(
            "#community_id option", "os => os.map(o => o.value).filter(Boolean)[0]"
        )
        page.evaluate(
            """([n, community, url]) => {
                const adds = [];
                for (let i = 0; i < n; i++) {
                    adds.push(FieldappOutbox.addItem({
                        kind: "family", user: "promotor", url: url, key: FieldappOutbox.newKey(),
                        title: "Replay " + i, created_at: Date.now(), app_version: "bench",
                        fields: [["community_id", community], ["head_given_names", "Replay"],
                                 ["head_surname", "Marca " + i + " " + FieldappOutbox.newKey()],
                                 ["members_count", "2"]]
                    }));
                }
                return Promise.all(adds);
            }""",
            [REPLAY_ITEMS, community, FORM],
        )
        queued = page.evaluate("FieldappOutbox.listItems().then(i => i.length)")
        context.set_offline(False)
        started = time.perf_counter()
        page.evaluate("fieldappPwa.tick()")
        poll(page, "FieldappOutbox.listItems().then(i => i.length === 0)", timeout=300)
        replay_s = time.perf_counter() - started
        browser.close()

    conn = sqlite3.connect(instance / "fieldapp.sqlite")
    made = conn.execute(
        "SELECT count(*) FROM families WHERE head_given_names = 'Replay'"
    ).fetchone()
    conn.close()
    return {
        "first_visit_slow3g_s": round(ready_ms / 1000, 2),
        "first_visit_slow3g_load_s": round(load_ms / 1000, 2),
        "offline_reload_ms": round(statistics.median(reloads), 1),
        "offline_ready_ms": round(statistics.median(ready_offline), 1),
        "replay_200_s": round(replay_s, 2),
        "replay_items": queued,
        "replay_records_created": made[0],
    }


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    instance, demo_s = make_demo_instance(args.scale, args.seed)
    try:
        with AppProcess(instance) as served:
            base, pid = served.url, served.process.pid
            total, sizes = shell_bytes(base)
            figures = measure_browser(base, instance)
            rss = peak_rss_mb(pid)
    finally:
        cleanup(instance)
    print(f"tablet app at scale {args.scale} (demo generated in {demo_s:.1f} s)")
    print(f"  app shell of {FORM}: {total} bytes ({total / 1024:.1f} KiB), icons excluded")
    for path, size in sizes.items():
        print(f"    {path:<34} {size:>7} B")
    labels = {
        "first_visit_slow3g_s": "first visit, slow 3G, usable (s)",
        "first_visit_slow3g_load_s": "first visit, slow 3G, load event (s)",
        "offline_reload_ms": "offline reload, load event (ms)",
        "offline_ready_ms": "offline reload, usable (ms)",
        "replay_200_s": f"replay {REPLAY_ITEMS} queued items (s)",
        "replay_records_created": "records created by the replay",
    }
    for key, label in labels.items():
        print(f"  {label:<40} {figures[key]}")
    if args.json:
        import json

        print(json.dumps({
            "shell_bytes": total,
            **figures,
            "scale": args.scale,
            "server_peak_rss_mb": round(rss, 1),
        }))


if __name__ == "__main__":
    main()
