"""Plots, deforestation alerts, the map and the tablet's worklist at scale.

    python benchmarks/geo.py --scale 10 --json
    python benchmarks/geo.py --scale 10 --instance DIR --json   # a kept instance, no new demo

On the demo program at ``--scale`` (10 = 10,330 families), generated as central, with the
demo's polygon of each family (an instance made before the demo had plots is given them, the
same way):

- ``alerts_match_s``: importing a CSV of 100,000 alert points (one in fifty on a plot) and
  matching them (``import_alerts``: every line read and checked, natural keys looked up, the
  alerts stored, STRtree matching with the 50 m buffer, alerts to verify made), committed;
- ``reimport_s``: the same file again (nothing new);
- ``map_p95_ms``: the dashboard map (every plot as a shape, the points) over 20 requests, p95
  (``map_first_ms``: the first, which builds the day's statuses and draws the map;
  ``map_redraw_ms``: drawn again, as after a change to the records);
  ``tablet_map_p95_ms``: the tablet's map of one promotor's communities;
- ``walk_save_ms``: a plot walked with 500 GPS points saved as the tablet's outbox sends it
  (a POST answered in JSON), median of 20 (and ``walk_save_p95_ms``);
- ``worklist_offline_ms``: in Chromium, the home page reloaded with no connection until the
  stored worklist is shown (navigation start to rendered, median of 5), for a promotor of
  ``PROMOTOR_COMMUNITIES`` communities; ``worklist_offline_whole_ms`` for the demo's
  ``promotor``, who has none assigned and sees the whole program.

The last line (``--json``) is one JSON object with those keys.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _harness import cleanup, make_demo_instance, parser  # noqa: E402

ALERTS = 100_000
#: Communities of the promotor whose tablet is measured (a round of villages; the demo's
#: ``promotor`` has none assigned and sees the whole program, measured too).
PROMOTOR_COMMUNITIES = 10
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def give_plots(rng: random.Random) -> list[list[list[float]]]:
    """One polygon per family (bulk, the demo's shape: :func:`fieldapp.demo.plots.plot_ring`),
    measured as the app measures them, for an instance made before the demo had plots; their
    rings."""
    from sqlalchemy import insert, select

    from fieldapp.demo.plots import plot_ring
    from fieldapp.extensions import db
    from fieldapp.families.models import Family
    from fieldapp.models import new_id, utcnow
    from fieldapp.plots.geometry import area_ha, shape_of
    from fieldapp.plots.models import Plot

    rows, rings = [], []
    now = utcnow()
    for family_id, lat, lon, plot_ha in db.session.execute(
            select(Family.id, Family.lat, Family.lon, Family.plot_ha)
            .where(Family.voided.is_(False))):
        if lat is None or lon is None:
            lat, lon = -5.9 + rng.uniform(-0.3, 0.3), -77.3 + rng.uniform(-0.3, 0.3)
        ring = plot_ring(lon, lat, plot_ha or 2.0, rng)
        boundary = {"type": "Polygon", "coordinates": [ring]}
        rows.append({"id": new_id(), "family_id": family_id, "name": "Chacra",
                     "declared_ha": plot_ha, "boundary": boundary, "accuracies": None,
                     "area_ha": round(area_ha(shape_of(boundary)), 4), "method": "geojson",
                     "area_review": False, "boundary_version": 1, "created_at": now,
                     "updated_at": now, "origin_node": "bench", "version": 1, "voided": False})
        rings.append(ring)
    db.session.execute(insert(Plot), rows)
    db.session.commit()
    return rings


def inside(ring: list[list[float]], rng: random.Random) -> tuple[float, float]:
    """A random point inside the ring (drawn in its box until one falls inside)."""
    polygon = shapely.Polygon(ring)
    west, south, east, north = polygon.bounds
    while True:
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if polygon.contains(shapely.Point(lon, lat)):
            return lon, lat


def alert_file(rng: random.Random, rings: list[list[list[float]]]) -> bytes:
    """One alert in fifty on a plot, the others anywhere in a box 1.5° a side around the
    plots (a satellite tile sees far more forest than the program's plots)."""
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    mid_x, mid_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    xs, ys = [mid_x - 0.75, mid_x + 0.75], [mid_y - 0.75, mid_y + 0.75]
    lines = ["latitude,longitude,date,confidence"]
    for n in range(ALERTS):
        if n % 50 == 0:
            lon, lat = inside(rng.choice(rings), rng)
        else:
            lon, lat = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
        day = f"2026-{rng.randint(3, 10):02d}-{rng.randint(1, 28):02d}"
        lines.append(f"{lat:.6f},{lon:.6f},{day},{rng.choice(('nominal', 'high', 'highest'))}")
    return ("\n".join(lines) + "\n").encode()


def timed(client: Any, method: str, url: str, **kwargs: Any) -> float:
    started = time.perf_counter()
    response = getattr(client, method)(url, **kwargs)
    response.get_data()
    if response.status_code not in (200, 201):
        raise SystemExit(f"{url} answered {response.status_code}: {response.get_data()[:300]}")
    return (time.perf_counter() - started) * 1000


def login(app: Any, username: str) -> Any:
    client = app.test_client()
    response = client.post("/auth/login", data={"username": username,
                                                "password": "fieldapp-demo"})
    if response.status_code != 302:
        raise SystemExit(f"could not log in as {username}")
    return client


def measure_server(instance: Path, scale: float) -> dict[str, Any]:
    from sqlalchemy import func, select

    from fieldapp import create_app
    from fieldapp.extensions import db
    from fieldapp.families.models import Family
    from fieldapp.plots.alerts import import_alerts
    from fieldapp.plots.models import AlertCheck

    app = create_app({"INSTANCE_PATH": str(instance), "ROLE": "central",
                      "WTF_CSRF_ENABLED": False, "DASHBOARD_TODAY": "2026-10-31"})
    rng = random.Random(28)
    figures: dict[str, Any] = {"scale": scale}
    with app.app_context():
        from fieldapp.plots.models import Alert, Plot, PlotBoundary

        db.session.execute(db.delete(AlertCheck))  # a reused instance starts again
        db.session.execute(db.delete(Alert))
        walked = select(Plot.id).where(Plot.name == "Recorrido")
        db.session.execute(db.delete(PlotBoundary).where(PlotBoundary.plot_id.in_(walked)))
        db.session.execute(db.delete(Plot).where(Plot.name == "Recorrido"))
        db.session.commit()
        rings = ([p["coordinates"][0] for p in db.session.scalars(
                  select(Plot.boundary).where(Plot.name != "Recorrido",
                                              Plot.boundary.is_not(None)))]
                 or give_plots(rng))
        figures["plots"] = len(rings)
        data = alert_file(rng, rings)
        figures["alert_file_mb"] = round(len(data) / 1e6, 1)
        started = time.perf_counter()
        report = import_alerts(data, "glad.csv", "GLAD-L")
        db.session.commit()
        figures["alerts_match_s"] = round(time.perf_counter() - started, 2)
        figures["alerts_new"] = report.new
        figures["alert_checks"] = report.checks
        started = time.perf_counter()
        again = import_alerts(data, "glad.csv", "GLAD-L")
        db.session.commit()
        figures["reimport_s"] = round(time.perf_counter() - started, 2)
        figures["reimport_new"] = again.new
        figures["checks_after_reimport"] = db.session.scalar(
            select(func.count()).select_from(AlertCheck))
        family_ids = list(db.session.scalars(select(Family.id).where(
            Family.voided.is_(False)).limit(20)))

        db.session.remove()
    coordinator = login(app, "coordinadora")
    # The first: the day's statuses built, then the map drawn (as after any change); the
    # others drawn from the kept drawing until the records change.
    figures["map_first_ms"] = round(timed(coordinator, "get", "/dashboard/map"), 1)
    app.extensions["dashboard"]["maps"].clear()  # as a new record would make it
    figures["map_redraw_ms"] = round(timed(coordinator, "get", "/dashboard/map"), 1)
    maps = [timed(coordinator, "get", "/dashboard/map") for _ in range(20)]
    figures["map_p95_ms"] = round(p95(maps), 1)
    figures["map_p50_ms"] = round(statistics.median(maps), 1)
    promotor = login(app, "promotor")
    tablet_maps = [timed(promotor, "get", "/plots/map") for _ in range(20)]
    figures["tablet_map_p95_ms"] = round(p95(tablet_maps), 1)
    figures["tablet_map_p50_ms"] = round(statistics.median(tablet_maps), 1)
    walk = [[-77.2 + 0.0005 * math.cos(2 * math.pi * i / 500),
             -5.9 + 0.0005 * math.sin(2 * math.pi * i / 500)] for i in range(500)]
    accuracies = [round(rng.uniform(2, 12), 1) for _ in walk]
    saves = []
    for family_id in family_ids:
        saves.append(timed(coordinator, "post", f"/plots/new?family={family_id}",
                           headers={"Accept": "application/json"}, data={
                               "name": "Recorrido", "declared_ha": "3", "method": "walk",
                               "boundary": json.dumps(walk),
                               "accuracies": json.dumps(accuracies),
                               "idempotency_key": str(uuid.uuid4())}))
    figures["walk_save_ms"] = round(statistics.median(saves), 1)
    figures["walk_save_p95_ms"] = round(p95(saves), 1)
    with app.app_context():
        db.engine.dispose()
    return figures


def assign_communities(instance: Path, username: str, count: int) -> None:
    """Give the field user ``username`` the first ``count`` communities (by code): a promotor's
    round, as an administrator assigns it."""
    from sqlalchemy import select

    from fieldapp import create_app
    from fieldapp.auth.models import User
    from fieldapp.communities.models import Community
    from fieldapp.extensions import db

    app = create_app({"INSTANCE_PATH": str(instance), "ROLE": "central"})
    with app.app_context():
        user = db.session.execute(select(User).filter_by(username=username)).scalar_one()
        user.communities = list(db.session.scalars(
            select(Community).order_by(Community.code).limit(count)))
        db.session.commit()
        db.engine.dispose()


def measure_worklist(instance: Path, username: str) -> tuple[float, int]:
    """The median time to the stored worklist shown after an offline reload, and its items."""
    from playwright.sync_api import sync_playwright

    from testing.servers import AppProcess

    def poll(page: Any, expression: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = page.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            page.wait_for_timeout(20)

    with AppProcess(instance, env={"FIELDAPP_ROLE": "central"}) as served, \
            sync_playwright() as p:
        base = served.url
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="es-PE")
        page = context.new_page()
        page.goto(base + "/auth/login")
        page.fill("#username", username)
        page.fill("#password", "fieldapp-demo")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        poll(page, "navigator.serviceWorker.controller !== null")
        page.reload()
        poll(page, "document.documentElement.dataset.pwaWarm === '1'", 120)
        page.goto(base + "/")
        poll(page, "document.getElementById('worklist').dataset.worklistSource === 'network'")
        items = page.locator("#worklist li.worklist-item").count()
        context.set_offline(True)
        times = []
        for _ in range(5):
            page.reload(wait_until="commit")
            poll(page, "(w => w && w.dataset.worklistSource === 'stored' && w.dataset.worklistAt)"
                       "(document.getElementById('worklist'))")
            times.append(float(page.get_attribute("#worklist", "data-worklist-at")))
        browser.close()
    return round(statistics.median(times), 1), items


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(scale=10.0)
    p.add_argument("--instance", type=Path, default=None,
                   help="an instance folder made by an earlier run (kept): no new demo")
    args = p.parse_args()
    if args.instance:
        instance, demo_s = args.instance, 0.0
    else:
        instance, demo_s = make_demo_instance(args.scale, args.seed,
                                              extra_env={"FIELDAPP_ROLE": "central"})
    try:
        figures = measure_server(instance, args.scale)
        print(f"server: {json.dumps(figures)}", flush=True)
        assign_communities(instance, "promotora", PROMOTOR_COMMUNITIES)
        figures["worklist_offline_ms"], figures["worklist_items"] = measure_worklist(
            instance, "promotora")
        figures["worklist_offline_whole_ms"], figures["worklist_whole_items"] = \
            measure_worklist(instance, "promotor")
    finally:
        if not args.instance:
            cleanup(instance)
    print(f"plots and alerts at scale {args.scale:g} (demo generated in {demo_s:.0f} s)")
    for key, value in figures.items():
        print(f"  {key:<24} {value}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
