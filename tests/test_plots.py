"""Plots through their front doors: the geodesic area against the ellipsoid's formula, bad
boundaries refused (or repaired and said), the form and the tablet's JSON outbox, the boundary
history, the review flag, and central's check of a pushed plot."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from fieldapp.extensions import db

EN = {"Accept-Language": "en"}
JSON = {"Accept": "application/json", **EN}


def square(lon: float = -77.0, lat: float = -6.0, side: float = 0.001) -> list[list[float]]:
    """A square ring (open) of ``side`` degrees, longitude first."""
    return [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side]]


def polygon(ring: list[list[float]]) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def ellipsoid_cell_m2(west: float, south: float, east: float, north: float) -> float:
    """The area of a latitude-longitude cell on WGS84, from the authalic-latitude formula
    (independent of pyproj): b²·Δλ/2·[q(φ2) − q(φ1)]."""
    a, f = 6378137.0, 1 / 298.257223563
    b = a * (1 - f)
    e = math.sqrt(f * (2 - f))

    def q(phi: float) -> float:
        s = math.sin(math.radians(phi))
        return s / (1 - e * e * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e)

    return b * b * math.radians(east - west) / 2 * (q(north) - q(south))


def test_the_area_of_a_cell_is_the_ellipsoids_within_half_a_percent(app):
    from fieldapp.plots.geometry import check_boundary

    # A 0.01° cell (about 123 ha) in San Martín: geodesic edges and parallels differ by far
    # less than the tolerance at this size.
    with app.test_request_context(headers=EN):
        measured = check_boundary(square(-77.2, -5.9, 0.01)).area_ha
    expected = ellipsoid_cell_m2(-77.2, -5.9, -77.19, -5.89) / 10_000
    assert expected == pytest.approx(122.4, abs=0.5)
    assert measured == pytest.approx(expected, rel=0.005)


@pytest.mark.parametrize(("boundary", "words"), [
    ([[-6.0, -77.0], [-6.0, -76.99], [-5.99, -76.99]], "latitude and longitude swapped"),
    ([[-60.0, -6.0], [-59.99, -6.0], [-59.99, -5.99]], "outside Peru"),
    ([[-77.0, -6.0], [-76.99, -6.0], [-77.0, -6.0]], "at least 3 different points"),
    ('{"type": "Polygon", "coordinates": [[[-77, -6], [-76.99, -5.99], [-76.99, -6], '
     '[-77, -5.99], [-77, -6]]]}', "crosses itself"),
    ('{"type": "MultiPolygon", "coordinates": []}', "one shape"),
    ("not json", "not GeoJSON"),
    ([[-77.0, -6.0], [-76.99, -6.0], [-76.98, -6.0]], "no area"),
    ([[-77.0, -6.0], ["x", -6.0], [-76.98, -5.9]], "not a pair of numbers"),
])
def test_a_bad_boundary_is_refused_with_what_to_do(app, boundary, words):
    from fieldapp.errors import ValidationFailed
    from fieldapp.plots.geometry import check_boundary

    with app.test_request_context(headers=EN), pytest.raises(ValidationFailed) as refused:
        check_boundary(boundary)
    assert words in str(refused.value.message)
    assert refused.value.details["field"] == "boundary"


def test_an_open_geojson_ring_is_closed_and_said(app):
    from fieldapp.plots.geometry import check_boundary

    ring = square()
    with app.test_request_context(headers=EN):
        checked = check_boundary({"type": "Polygon", "coordinates": [ring]})
    assert checked.ring[0] == checked.ring[-1]
    assert any("was open" in r for r in checked.repairs)
    assert checked.area_ha == pytest.approx(1.22, abs=0.02)


def _new_plot(client: Any, family_id: Any, **fields: Any) -> Any:
    data = {"name": "Chacra alta", "declared_ha": "1.2", "boundary": polygon(square()),
            "method": "geojson", "idempotency_key": str(uuid.uuid4()), **fields}
    return client.post(f"/plots/new?family={family_id}", data=data, headers=JSON)


def test_a_plot_is_recorded_measured_and_shown_on_its_family(app, client, auth, make_family):
    family = make_family()
    auth.login("field_staff")
    response = _new_plot(client, family)
    assert response.status_code == 201, response.get_data(as_text=True)
    url = response.get_json()["url"]
    page = client.get(url).get_data(as_text=True)
    assert "1.22 ha" in page or "1,22 ha" in page
    assert "<svg" in page
    assert "map-scale" in page
    family_page = client.get(f"/families/{family}").get_data(as_text=True)
    assert "Chacra alta" in family_page
    from fieldapp.plots.models import Plot

    with app.app_context():
        plot = db.session.execute(select(Plot)).scalar_one()
        assert plot.area_review is False
        assert len(plot.boundaries) == 1
        assert plot.boundaries[0].method == "geojson"


def test_the_outbox_replay_of_a_plot_makes_one_plot(app, client, auth, make_family):
    family = make_family()
    auth.login("field_staff")
    key = str(uuid.uuid4())
    first = _new_plot(client, family, idempotency_key=key)
    again = _new_plot(client, family, idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]


def test_a_refused_boundary_answers_the_outbox_with_the_fields_message(app, client, auth,
                                                                        make_family):
    family = make_family()
    auth.login("field_staff")
    swapped = json.dumps([[lat, lon] for lon, lat in square()])
    response = _new_plot(client, family, boundary=swapped, method="walk")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "swapped" in error["details"]["fields"]["boundary"]
    # The form shows it next to the field, with what was typed kept.
    page = client.post(f"/plots/new?family={family}",
                       data={"name": "X", "boundary": swapped, "method": "walk"}, headers=EN)
    assert page.status_code == 422
    assert "swapped" in page.get_data(as_text=True)
    from fieldapp.plots.models import Plot

    with app.app_context():
        assert db.session.execute(select(Plot)).first() is None


def test_a_walk_keeps_its_accuracies_and_a_count_that_differs_is_refused(app, client, auth,
                                                                          make_family):
    family = make_family()
    auth.login("field_staff")
    walk = json.dumps(square())
    bad = _new_plot(client, family, boundary=walk, method="walk", accuracies="[3, 4]")
    assert bad.status_code == 422
    assert "accuracies" in bad.get_json()["error"]["details"]["fields"]
    good = _new_plot(client, family, boundary=walk, method="walk",
                     accuracies="[3.5, 4, 6.2, 5]")
    assert good.status_code == 201
    from fieldapp.plots.models import Plot

    with app.app_context():
        plot = db.session.execute(select(Plot)).scalar_one()
        assert plot.accuracies == [3.5, 4, 6.2, 5]
        assert plot.method == "walk"


def test_a_far_declared_area_flags_the_plot_for_review(app, client, auth, make_family):
    family = make_family()
    auth.login("field_staff")
    response = _new_plot(client, family, declared_ha="5")
    page = client.get(response.get_json()["url"]).get_data(as_text=True)
    assert 'id="area-review"' in page


def test_a_new_boundary_is_a_new_version_and_the_old_one_stays(app, client, auth, make_family):
    family = make_family()
    auth.login("field_staff")
    plot_id = _new_plot(client, family).get_json()["id"]
    edit = client.post(f"/plots/{plot_id}/edit", data={
        "name": "Chacra alta", "declared_ha": "1.2", "method": "vertices",
        "boundary": json.dumps(square(side=0.0012))})
    assert edit.status_code == 302
    # An edit without a boundary keeps the current one.
    client.post(f"/plots/{plot_id}/edit", data={"name": "Chacra de arriba",
                                                "declared_ha": "1.2"})
    from fieldapp.audit.models import AuditEntry
    from fieldapp.plots.models import Plot

    with app.app_context():
        plot = db.session.get(Plot, uuid.UUID(plot_id))
        assert plot.name == "Chacra de arriba"
        assert plot.boundary_version == 2
        assert [b.number for b in plot.boundaries] == [1, 2]
        assert plot.boundaries[0].area_ha == pytest.approx(1.22, abs=0.02)
        assert plot.area_ha == pytest.approx(1.76, abs=0.02)
        actions = db.session.execute(select(AuditEntry.action).where(
            AuditEntry.entity_id == plot.id)).scalars().all()
        assert sorted(actions) == ["create", "update", "update"]
    history = client.get(f"/plots/{plot_id}", headers=EN).get_data(as_text=True)
    assert "corners tapped" in history
    assert "GeoJSON" in history


def test_central_refuses_a_pushed_plot_whose_boundary_or_area_is_wrong(app):
    from fieldapp.nodes.rules import PlotRules
    from fieldapp.plots.geometry import check_boundary

    with app.test_request_context(headers=EN):
        good = check_boundary(square())
        rows = [
            {"name": "A", "declared_ha": 1.0, "boundary": good.geojson, "area_ha": good.area_ha,
             "method": "walk", "accuracies": [3, 3, 3, 3]},
            {"name": "B", "declared_ha": 1.0, "boundary": good.geojson, "area_ha": 9.0,
             "method": "walk", "accuracies": None},
            {"name": "C", "declared_ha": 1.0, "method": "walk", "accuracies": None,
             "boundary": {"type": "Polygon", "coordinates": [[[-6.0, -77.0], [-6.0, -76.99],
                                                              [-5.99, -76.99], [-6.0, -77.0]]]},
             "area_ha": 1.0},
            {"name": "", "declared_ha": 1.0, "boundary": None, "area_ha": None,
             "method": None, "accuracies": None},
        ]
        refusals = PlotRules().check_inserts(db.session, None, rows)
    assert sorted(refusals) == [1, 2, 3]
    assert refusals[1].code == "area_mismatch"
    assert "swapped" in refusals[2].message
    assert refusals[3].code == "invalid"


def test_plots_export_as_geojson_and_kml_without_names(app, client, auth, make_family):
    family = make_family()
    auth.login("field_staff")
    _new_plot(client, family)
    geo = client.get("/plots/export.geojson")
    assert geo.mimetype == "application/geo+json"
    [feature] = geo.get_json()["features"]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["geometry"]["coordinates"][0][0] == [-77.0, -6.0]
    assert feature["properties"]["name"] == "Chacra alta"
    assert feature["properties"]["area_ha"] == pytest.approx(1.22, abs=0.02)
    kml = client.get("/plots/export.kml")
    assert kml.mimetype == "application/vnd.google-earth.kml+xml"
    text = kml.get_data(as_text=True)
    assert "<coordinates>-77.0,-6.0,0 -76.999,-6.0,0" in text
    for body in (geo.get_data(as_text=True), text):
        assert "Huamán" not in body  # the head of household's name stays in the app


def test_the_map_draws_plots_with_a_scale_bar_and_a_north_arrow(app, client, auth,
                                                                make_family):
    family = make_family()
    auth.login("field_staff")
    plot_id = _new_plot(client, family).get_json()["id"]
    page = client.get("/plots/map", headers=EN).get_data(as_text=True)
    assert f'href="/plots/{plot_id}"' in page
    assert 'class="map-plot state-no_agreement alert-none"' in page
    assert 'class="map-scale"' in page
    assert 'class="map-north"' in page
    # 111.3 m (north to south) across 552 pixels: the longest round bar within a quarter of
    # the 800-pixel width is 20 m, 99.2 pixels long.
    assert ">20 m<" in page
    bar = re.search(r'class="map-scale"[^>]*>\s*<line x1="0" y1="0" x2="([0-9.]+)"', page)
    assert float(bar.group(1)) == pytest.approx(20 * 552 / (0.001 * 111_320), abs=0.2)
