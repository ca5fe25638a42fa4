"""Accessibility in a real Chromium at the tablet's size (800×1280), as each role, on every page
the navigation reaches (and one of each kind of page those link to), on a field node and on
central: axe-core finds no serious or critical
violation, and the things a promotor taps are at least 48 px.

axe-core is vendored for these tests only (tests/vendor/axe-core/README.md); the app never serves
it. It is injected as an init script (through the debugging protocol, like ``evaluate``), since
the app's CSP rightly refuses inline scripts.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pwa_support import CHROMIUM, CHROMIUM_ARGS, TABLET, LiveServer, login, playwright_env

from fieldapp import create_app
from fieldapp.extensions import db

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
TAP = 48

#: axe's verdict, kept short: rule, impact, the offending elements and axe's own summary.
#: Serious and critical violations, and the minor ones fixed since (a column header with no
#: name: an action column is named for screen readers).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical' || v.id === 'empty-table-header')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 4).map(n => n.target.join(' '))
      .join(' | ')} — ${v.nodes[0].failureSummary.split('\\n').slice(0, 2).join(' ')}`);
}"""

#: Things tapped in the main content smaller than 48×48 px. Inline links inside running text
#: (paragraphs, list and table text) are exempt (WCAG 2.5.8's inline exception); a checkbox or
#: radio counts by its label when the label holds it. Hidden elements are skipped.
SMALL_TARGETS = """(tap) => {
  const main = document.querySelector('main') || document.body;
  const selector = 'button, input[type=submit], input[type=button], input[type=checkbox],'
    + ' input[type=radio], a.button, a[role=button], .tabs a, select';
  const small = [];
  for (const el of main.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.closest('label')
        || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label) box = label.getBoundingClientRect();
    }
    if (box.width + 0.5 < tap || box.height + 0.5 < tap) {
      const name = (el.innerText || el.value || el.name || el.id || '').trim().slice(0, 30);
      small.push(`${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''}`
        + ` "${name}" ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}"""

#: Status pills and badges that carry no text: their colour alone would say the status.
MUTE_PILLS = """() => [...document.querySelectorAll('.badge, .sync-badge, [class*="status-"]')]
  .filter(el => el.offsetParent !== null && !el.innerText.trim() && !el.getAttribute('aria-label')
    && !el.closest('svg'))
  .map(el => el.outerHTML.slice(0, 80))"""

#: On the map: each status's legend swatch and markers, by shape (element and clip/rounding).
MAP_SHAPES = """() => {
  const out = {};
  // The statuses' legend (not the plots' outlines by alert, a legend of its own).
  for (const li of document.querySelectorAll('.legend .swatch:not(.swatch-outline)')) {
    const status = [...li.classList].find(c => c.startsWith('swatch-')).slice(7);
    const style = getComputedStyle(li);
    out[status] = {legend: `${style.clipPath}|${style.borderRadius}`};
    const marks = document.querySelectorAll(`.plotmap a[data-status="${status}"] .marker`);
    out[status].markers = [...new Set([...marks]
      .map(m => m.tagName + ' ' + m.getAttribute('class')))];
  }
  return out;
}"""

#: (place, user) pairs: every role, on the node and on central where the pages differ.
ROLES = [
    ("field", "promotor"),
    ("field", "coordinadora"),
    ("field", "admin"),
    ("central", "coordinadora"),
    ("central", "admin"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_env()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[dict[str, Any]]:
    """The demo program served by a field node and by central, CSRF on."""
    running: dict[str, Any] = {}
    for role in ("field", "central"):
        instance = tmp_path_factory.mktemp(f"a11y-{role}")
        shutil.copy(demo_db, instance / "fieldapp.sqlite")
        app = create_app({
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "a11y-test-secret",
            "NODE_ID": "00000000-0000-0000-0000-0000000a11e0",
            "NODE_CODE": "A11",
            "ROLE": role,
            "AUTO_MIGRATE": False,
            "WTF_CSRF_ENABLED": True,
        })
        running[role] = LiveServer(app).start()
    yield running
    for server in running.values():
        server.stop()
        with server.app.app_context():
            db.engine.dispose()


def _context(browser: Any) -> Any:
    context = browser.new_context(viewport=TABLET, locale="es-PE", service_workers="block")
    context.add_init_script(path=str(AXE))
    return context


def _reachable(page: Any, base: str) -> list[str]:
    """The home page and every page the header's links lead to, on this origin."""
    hrefs = page.evaluate(
        "[...document.querySelectorAll('header a[href], nav a[href]')].map(a => a.href)"
    )
    urls = [base + "/"]
    for href in hrefs:
        if urlsplit(href).netloc == urlsplit(base).netloc and href not in urls:
            urls.append(href.split("#")[0])
    return list(dict.fromkeys(urls))


#: One URL per kind of page: ids and codes become placeholders; downloads and actions are skipped.
LINKS_IN_MAIN = """() => [...document.querySelectorAll('main a[href]')]
  .map(a => new URL(a.getAttribute('href'), location.href).href.split('#')[0])
  .filter(h => h.startsWith(location.origin))"""
SKIP = re.compile(r"\.(pdf|csv|xlsx|json|png|svg)(\?|$)|/export|/print|/logout|/download")


def _pattern(url: str) -> str:
    path = urlsplit(url).path
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
    return re.sub(r"/\d+(?=/|$)", "/{n}", path)


def _one_level_deeper(page: Any, urls: list[str]) -> list[str]:
    """The pages the navigation's pages link to in their main content, one of each kind."""
    seen = {_pattern(u) for u in urls}
    deeper = []
    for url in urls:
        page.goto(url)
        for href in page.evaluate(LINKS_IN_MAIN):
            kind = _pattern(href)
            if kind not in seen and not SKIP.search(href):
                seen.add(kind)
                deeper.append(href)
    return deeper


def _check(page: Any, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    problems = [f"{url}: {v}" for v in page.evaluate(RUN_AXE)]
    problems += [f"{url}: target under {TAP}px: {t}" for t in page.evaluate(SMALL_TARGETS, TAP)]
    problems += [f"{url}: status by colour alone: {p}" for p in page.evaluate(MUTE_PILLS)]
    return list(dict.fromkeys(problems))


@pytest.mark.parametrize(("place", "username"), ROLES)
def test_every_navigation_page_passes_axe_and_tap_sizes(
    browser: Any, servers: dict[str, Any], place: str, username: str
) -> None:
    base = servers[place].url
    context = _context(browser)
    page = context.new_page()
    try:
        login(page, base, username)
        urls = _reachable(page, base)
        assert len(urls) > 4
        if username != "promotor":  # the plot map is one click away from the dashboard
            urls.append(base + "/dashboard/map?from=2026-01&to=2026-10")
        urls += _one_level_deeper(page, urls)
        problems = [p for url in urls for p in _check(page, url)]
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_login_page_passes_axe_and_tap_sizes(browser: Any, servers: dict[str, Any]) -> None:
    context = _context(browser)
    page = context.new_page()
    try:
        problems = _check(page, servers["field"].url + "/auth/login")
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_map_tells_status_by_shape_as_well_as_colour(
    browser: Any, servers: dict[str, Any]
) -> None:
    """Each status has its own shape in the legend and on the map, matching each other."""
    base = servers["central"].url
    context = _context(browser)
    page = context.new_page()
    try:
        login(page, base, "coordinadora")
        page.goto(base + "/dashboard/map?from=2026-01&to=2026-10")
        shapes = page.evaluate(MAP_SHAPES)
    finally:
        context.close()
    assert set(shapes) == {"compliant", "non_compliant", "not_visited", "no_agreement"}
    assert len({s["legend"] for s in shapes.values()}) == 4, shapes
    drawn = {status: s["markers"] for status, s in shapes.items() if s["markers"]}
    assert len(drawn) >= 3, shapes
    assert all(len(m) == 1 for m in drawn.values()), shapes
    assert len({m[0] for m in drawn.values()}) == len(drawn), shapes
