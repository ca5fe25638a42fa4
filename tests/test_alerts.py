"""Deforestation alerts through their front doors (the CLI and the coordinator's upload on
central): matching on points, polygons and the buffer; an alert before the agreement's signing
ignored; re-import changes nothing; bad files refused with their line number and nothing
half-imported; CSV in another column order with decimal commas and semicolons; the answer from a
compliance visit, a confirmed clearing proposing a sanction; the figures."""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cyclekit import START, agreement_in_state, login, seed
from sqlalchemy import func, select

from fieldapp.extensions import db

EN = {"Accept-Language": "en"}
JSON = {"Accept": "application/json"}
#: A square plot of about 111 m a side in San Martín (longitude first).
WEST, SOUTH, SIDE = -77.0, -6.0, 0.001
AFTER = (START + timedelta(days=40)).isoformat()
BEFORE = (START - timedelta(days=40)).isoformat()


@pytest.fixture
def central(app_factory: Any) -> Any:
    return app_factory(ROLE="central")


def _ring(west: float, south: float, side: float = SIDE) -> list[list[float]]:
    return [[west, south], [west + side, south], [west + side, south + side],
            [west, south + side], [west, south]]


def _plot(app: Any, family_id: Any, west: float = WEST, south: float = SOUTH) -> uuid.UUID:
    from fieldapp.families.models import Family
    from fieldapp.plots.operations import create_plot

    with app.test_request_context():
        plot = create_plot(db.session.get(Family, family_id), {
            "name": "Chacra", "declared_ha": 1.2, "method": "geojson",
            "boundary": {"type": "Polygon", "coordinates": [_ring(west, south)]}})
        db.session.commit()
        return plot.id


@pytest.fixture
def world(central: Any) -> dict[str, Any]:
    """A family under an active agreement with one plot, and a family without an agreement
    whose plot lies 1 km east."""
    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    seed(central)
    with central.test_request_context():
        community = Community(code="C001", name="Aguas Verdes", district="Moyobamba")
        db.session.add(community)
        db.session.flush()
        ids = []
        for surname in ("Huamán", "Tuanama"):
            family = create_family({"head_given_names": "Rosa", "head_surname": surname,
                                    "members_count": 3, "community_id": community.id,
                                    "confirm_not_duplicate": True})
            ids.append(family.id)
        db.session.commit()
    agreement_in_state(central, ids[0], "active")
    return {"signed": ids[0], "plot": _plot(central, ids[0]), "free": ids[1],
            "free_plot": _plot(central, ids[1], west=WEST + 0.01)}


def _csv(tmp_path: Path, text: str, name: str = "alerts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(app: Any, path: Path, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["alerts", "import", str(path), *args])


def _checks(app: Any) -> list[Any]:
    from fieldapp.plots.models import AlertCheck

    with app.app_context():
        rows = db.session.execute(select(AlertCheck).order_by(AlertCheck.distance_m)
                                  ).scalars().all()
        db.session.expunge_all()
        return rows


def _count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_points_polygons_and_the_buffer_match_plots_under_agreement(central, world, tmp_path):
    inside = (WEST + SIDE / 2, SOUTH + SIDE / 2)
    near = (WEST + SIDE + 0.0003, SOUTH + SIDE / 2)  # about 33 m east of the plot
    far = (WEST + SIDE + 0.002, SOUTH + SIDE / 2)  # about 220 m east
    free = (WEST + 0.01 + SIDE / 2, SOUTH + SIDE / 2)  # on the plot without an agreement
    corner = json.dumps({"type": "Polygon", "coordinates": [_ring(WEST - 0.0002,
                                                                  SOUTH - 0.0002, 0.0004)]})
    rows = [f"{inside[1]},{inside[0]},{AFTER},high,", f"{near[1]},{near[0]},{AFTER},nominal,",
            f"{far[1]},{far[0]},{AFTER},high,", f"{free[1]},{free[0]},{AFTER},high,",
            f"{inside[1]},{inside[0]},{BEFORE},high,",  # before the agreement was signed
            f",,{AFTER},high,\"{corner.replace(chr(34), chr(34) * 2)}\""]
    path = _csv(tmp_path, "lat,lon,date,confidence,geometry\n" + "\n".join(rows) + "\n")
    result = _import(central, path, "--source", "GLAD-S2", "--buffer", "50")
    assert result.exit_code == 0, result.output
    assert "6 alerts read: 6 new" in result.output
    assert "3 alerts to verify" in result.output
    checks = _checks(central)
    assert [c.plot_id for c in checks] == [world["plot"]] * 3
    assert [c.distance_m for c in checks][:2] == [0.0, 0.0]
    assert checks[2].distance_m == pytest.approx(33, abs=3)
    assert {c.source for c in checks} == {"GLAD-S2"}
    assert all(c.status == "open" and c.community_id for c in checks)
    # A buffer of 0: only what falls on the plot.
    again = _csv(tmp_path, f"lat,lon,date\n{near[1]},{near[0]},{AFTER[:8]}28\n", "b.csv")
    assert "0 alerts to verify" in _import(central, again, "--buffer", "0").output


def test_importing_the_same_file_again_changes_nothing(central, world, tmp_path):
    from fieldapp.plots.models import Alert, AlertCheck

    lines = [f"{SOUTH + SIDE / 2},{WEST + SIDE / 2},{AFTER}",
             f"{SOUTH + SIDE / 2},{WEST + SIDE / 2},{AFTER}",  # repeated in the file
             f"{SOUTH + 0.3},{WEST + 0.3},{AFTER}"]
    path = _csv(tmp_path, "latitude,longitude,date\n" + "\n".join(lines) + "\n")
    first = _import(central, path)
    assert "3 alerts read: 2 new, 0 already imported, 1 repeated" in first.output
    counts = (_count(central, Alert), _count(central, AlertCheck))
    second = _import(central, _csv(tmp_path, path.read_text(), "renamed.csv"))
    assert "0 new, 2 already imported" in second.output
    assert "0 alerts to verify" in second.output
    assert (_count(central, Alert), _count(central, AlertCheck)) == counts == (2, 1)


@pytest.mark.parametrize(("text", "line", "words"), [
    ("lat,lon,date\n-6.0,-77.0,2026-03-01\n-6.1,-77.0,2026-03-02\n-77.0,-6.0,2026-03-03\n",
     4, "swapped"),
    ("lat,lon,date\n-6.0,-77.0,2026-03-01\n-6.1,-77.0,\n", 3, "no date"),
    ("lat,lon,date\n-6.0,-77.0,2026-03-01\nx,-77.0,2026-03-01\n", 3, "not a number"),
    ("lat,lon,date\n-6.0,-77.0,2026-03-01\n40.4,-3.7,2026-03-01\n", 3, "outside Peru"),
    ("lon;lat\n-77;-6\n", 1, "no date column"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
     '{"date": "2026-03-01"}, "geometry": {"type": "Point", "coordinates": [-77, -6]}}, '
     '{"type": "Feature", "properties": {"date": "2026-03-01"}, "geometry": {"type": '
     '"Polygon", "coordinates": [[[-77, -6], [-76.99, -5.99], [-76.99, -6], [-77, -5.99], '
     '[-77, -6]]]}}]}', 2, "crosses itself"),
])
def test_a_bad_line_refuses_the_file_with_its_number_and_imports_nothing(
        central, world, tmp_path, text, line, words):
    from fieldapp.plots.models import Alert

    name = "alerts.geojson" if text.startswith("{") else "alerts.csv"
    result = _import(central, _csv(tmp_path, text, name))
    assert result.exit_code != 0
    assert f"Line {line}:" in result.output
    assert words in result.output
    assert "Nothing was imported" in result.output
    assert _count(central, Alert) == 0


def test_a_csv_in_another_order_with_decimal_commas_and_semicolons(central, world, tmp_path):
    text = ("Fecha;Confianza;Longitud;Latitud\n"
            f"{(START + timedelta(days=50)).strftime('%d/%m/%Y')};alta;"
            f"{str(WEST + SIDE / 2).replace('.', ',')};{str(SOUTH + SIDE / 2).replace('.', ',')}\n")
    result = _import(central, _csv(tmp_path, text))
    assert result.exit_code == 0, result.output
    [check] = _checks(central)
    assert check.confidence == "alta"
    assert check.detected_on == START + timedelta(days=50)
    assert check.lon == pytest.approx(WEST + SIDE / 2)


def test_a_geojson_file_of_polygons_is_read(central, world, tmp_path):
    feature = {"type": "Feature", "properties": {"alert_date": AFTER, "confidence": 3,
                                                 "system": "RADD"},
               "geometry": {"type": "Polygon", "coordinates": [_ring(WEST + 0.0002,
                                                                     SOUTH + 0.0002, 0.0003)]}}
    path = _csv(tmp_path, json.dumps({"type": "FeatureCollection", "features": [feature]}),
                "radd.geojson")
    assert _import(central, path).exit_code == 0
    [check] = _checks(central)
    assert (check.source, check.confidence, check.geometry["type"]) == ("RADD", "3", "Polygon")


def test_the_coordinator_uploads_a_file_on_central(central, world):
    import io

    coordinator = login(central, "coordinator")
    text = f"lat,lon,date\n{SOUTH + SIDE / 2},{WEST + SIDE / 2},{AFTER}\n"
    response = coordinator.post("/plots/alerts/import", headers=EN, data={
        "file": (io.BytesIO(text.encode()), "glad.csv"), "buffer": "50"},
        content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1 alerts to verify" in page
    assert "Chacra" in page
    bad = coordinator.post("/plots/alerts/import", headers=EN, data={
        "file": (io.BytesIO(b"lat,lon,date\n-6,-77,\n"), "bad.csv")},
        content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "Line 2:" in bad.get_data(as_text=True)
    # Field staff cannot import.
    assert login(central, "field_staff").get("/plots/alerts/import").status_code == 403


def _visit(app: Any, family_id: Any, on: date) -> uuid.UUID:
    from fieldapp.compliance.operations import record_visit, visit_agreement
    from fieldapp.families.models import Family

    with app.test_request_context():
        family = db.session.get(Family, family_id)
        visit = record_visit(family, visit_agreement(family.id),
                             {"visited_on": on, "monitor_name": "Nilda", "findings": {}})
        db.session.commit()
        return visit.id


def test_a_visit_answers_an_alert_and_a_confirmed_clearing_proposes_a_sanction(
        central, world, tmp_path):
    from fieldapp.compliance.models import Sanction

    path = _csv(tmp_path, f"lat,lon,date\n{SOUTH + SIDE / 2},{WEST + SIDE / 2},{AFTER}\n"
                f"{SOUTH + SIDE / 3},{WEST + SIDE / 3},{AFTER}\n")
    _import(central, path)
    first, second = _checks(central)
    too_early = (START + timedelta(days=10)).isoformat()
    _visit(central, world["signed"], START + timedelta(days=10))
    day = START + timedelta(days=52)
    staff = login(central, "field_staff")
    refused = staff.post(f"/plots/alerts/{first.id}", headers=EN, data={
        "visited_on": too_early, "answer": "false_alarm"})
    assert refused.status_code == 422
    assert "older than the alert" in refused.get_data(as_text=True)
    no_visit = staff.post(f"/plots/alerts/{first.id}", headers=EN, data={
        "visited_on": day.isoformat(), "answer": "false_alarm"})
    assert no_visit.status_code == 422
    assert "record the visit first" in no_visit.get_data(as_text=True)
    visit = _visit(central, world["signed"], day)
    no_area = staff.post(f"/plots/alerts/{first.id}", headers=EN, data={
        "visited_on": day.isoformat(), "answer": "confirmed", "cleared_ha": ""})
    assert no_area.status_code == 422
    assert _count(central, Sanction) == 0
    confirmed = {"visited_on": day.isoformat(), "answer": "confirmed", "cleared_ha": "0,4"}
    done = staff.post(f"/plots/alerts/{first.id}", headers=EN, data=confirmed)
    assert done.status_code == 302
    # The outbox sending the same answer again changes nothing; another answer is refused.
    replay = staff.post(f"/plots/alerts/{first.id}", headers={**EN, **JSON}, data=confirmed)
    assert replay.status_code == 201
    other = staff.post(f"/plots/alerts/{first.id}", headers={**EN, **JSON},
                       data={**confirmed, "answer": "false_alarm"})
    assert other.status_code == 422
    assert "already answered" in other.get_json()["error"]["details"]["fields"]["answer"]
    staff.post(f"/plots/alerts/{second.id}", headers=EN, data={
        "visited_on": day.isoformat(), "answer": "false_alarm"})
    with central.app_context():
        [sanction] = db.session.execute(select(Sanction)).scalars().all()
        assert (sanction.status, sanction.level) == ("proposed", "warning")
        assert "0.4 ha" in sanction.reason
    answered = {c.id: c for c in _checks(central)}
    assert answered[first.id].visit_id == visit
    assert answered[first.id].answer == "confirmed"
    assert answered[first.id].cleared_ha == 0.4
    assert answered[second.id].answer == "false_alarm"
    # The figures.
    page = login(central, "coordinator").get("/plots/alerts/?status=all", headers=EN
                                              ).get_data(as_text=True)
    assert 'id="fig-received">2<' in page
    assert 'id="fig-verified">2<' in page
    assert 'id="fig-confirmed">1<' in page
    assert 'id="fig-median">12<' in page
    assert "Aguas Verdes" in page


def test_the_dashboard_map_draws_plots_outlined_by_their_alerts(central, world, tmp_path):
    _import(central, _csv(tmp_path, f"lat,lon,date\n{SOUTH + SIDE / 2},{WEST + SIDE / 2},"
                          f"{AFTER}\n"))
    page = login(central, "coordinator").get("/dashboard/map", headers=EN
                                             ).get_data(as_text=True)
    assert page.count('class="plotshape alert-open"') == 1
    assert page.count('class="plotshape alert-none"') == 1
    assert 'data-alert-count="open">1<' in page
    assert "/plots/export.kml" in page
    tablet_map = login(central, "field_staff").get("/plots/map", headers=EN
                                                   ).get_data(as_text=True)
    assert "state-active alert-open" in tablet_map
    assert "state-no_agreement alert-none" in tablet_map
    assert 'class="map-alert alert-open"' in tablet_map


def test_the_dashboard_shows_the_alert_figures(central, world, tmp_path):
    _import(central, _csv(tmp_path, f"lat,lon,date\n{SOUTH + SIDE / 2},{WEST + SIDE / 2},"
                          f"{AFTER}\n{SOUTH + 0.3},{WEST + 0.3},{AFTER}\n"))
    page = login(central, "coordinator").get("/dashboard/", headers=EN).get_data(as_text=True)
    assert 'id="alerts"' in page
    assert 'id="fig-received">2<' in page
    assert 'id="fig-to-verify">1<' in page
    assert 'id="fig-hectares">1.22 ha<' in page or 'id="fig-hectares">1.23 ha<' in page


def test_a_large_file_with_a_bad_line_in_the_middle_imports_nothing(central, world, tmp_path):
    from fieldapp.plots.models import Alert

    rng = random.Random()  # noqa: S311 - test data, drawn inside the test
    lines = [f"{-6 + rng.uniform(-0.2, 0.2):.6f},{-77 + rng.uniform(-0.2, 0.2):.6f},{AFTER}"
             for _ in range(20_000)]
    lines[10_000] = f"{-77.0:.6f},{-6.0:.6f},{AFTER}"  # swapped, on line 10,002 of the file
    result = _import(central, _csv(tmp_path, "lat,lon,date\n" + "\n".join(lines) + "\n"))
    assert result.exit_code != 0
    assert "Line 10002:" in result.output
    assert _count(central, Alert) == 0


def test_the_dashboard_map_is_drawn_again_after_a_new_plot_alert_or_verdict(
        central, world, tmp_path, monkeypatch):
    from fieldapp.dashboard import plotmap

    drawn = []
    draw = plotmap._draw_map
    monkeypatch.setattr(plotmap, "_draw_map", lambda *a: drawn.append(1) or draw(*a))
    coordinator = login(central, "coordinator")

    def page() -> str:
        return coordinator.get("/dashboard/map", headers=EN).get_data(as_text=True)

    def drawing(html: str) -> str:
        """The map itself (the page around it carries a CSRF token that changes by the
        second)."""
        start = html.index('<svg class="plotmap"')
        return html[start:html.index("</svg>", start)]

    first = page()
    assert first.count('class="plotshape alert-none"') == 2
    assert drawing(page()) == drawing(first)
    assert len(drawn) == 1  # nothing changed: the drawing is kept
    spanish = coordinator.get("/dashboard/map", headers={"Accept-Language": "es"})
    assert "Mapa de parcelas familiares según su estado de cumplimiento" in spanish.get_data(
        as_text=True)
    assert len(drawn) == 2  # another language, another drawing
    # A new plot.
    _plot(central, world["signed"], west=WEST + 0.005)
    assert page().count('class="plotshape alert-none"') == 3
    # A new alert to verify.
    _import(central, _csv(tmp_path, f"lat,lon,date\n{SOUTH + SIDE / 2},{WEST + SIDE / 2},"
                          f"{AFTER}\n"))
    assert page().count('class="plotshape alert-open"') == 1
    # The visit's verdict on it.
    [check] = _checks(central)
    day = START + timedelta(days=52)
    _visit(central, world["signed"], day)
    answered = login(central, "field_staff").post(f"/plots/alerts/{check.id}", headers=EN, data={
        "visited_on": day.isoformat(), "answer": "confirmed", "cleared_ha": "0,4"})
    assert answered.status_code == 302
    after = page()
    assert after.count('class="plotshape alert-open"') == 0
    assert after.count('class="plotshape alert-confirmed"') == 1
    # Another selection is drawn on its own, and both are kept.
    from fieldapp.communities.models import Community

    with central.app_context():
        community = db.session.execute(select(Community.id)).scalar_one()
    drawings = len(drawn)
    other = coordinator.get("/dashboard/map", headers=EN,
                            query_string={"community": str(community)})
    assert other.status_code == 200
    assert other.get_data(as_text=True).count('class="plotshape') == 3
    assert drawing(page()) == drawing(after)
    assert len(drawn) == drawings + 1


def test_the_dashboard_map_draws_to_its_resolution(central, world):
    from fieldapp.families.models import Family
    from fieldapp.plots.operations import create_plot

    walk = [[WEST + 0.003 + 0.0005 * math.cos(2 * math.pi * i / 500),
             SOUTH + 0.0005 * math.sin(2 * math.pi * i / 500)] for i in range(500)]
    with central.test_request_context():
        create_plot(db.session.get(Family, world["signed"]), {
            "name": "Recorrido", "declared_ha": 8, "method": "geojson",
            "boundary": {"type": "Polygon", "coordinates": [walk + walk[:1]]}})
        db.session.commit()
    page = login(central, "coordinator").get("/dashboard/map", headers=EN
                                             ).get_data(as_text=True)
    paths = re.findall(r'<path d="([^"]+)"', page)
    assert len(paths) == 3
    for d in paths:
        assert re.fullmatch(r"(M-?\d+ -?\d+(L-?\d+ -?\d+)+Z)+", d), d  # whole units
    walked = max(paths, key=len)
    assert 8 <= walked.count("L") < 100  # a circle still, not 500 points
