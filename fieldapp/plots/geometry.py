"""Plot boundaries: read, checked, repaired where it is safe, measured on the ellipsoid.

One implementation of the rules on a boundary, used by the plot form, the tablet's outbox (the
same form, answered in JSON) and central's check of what a node pushes
(:class:`fieldapp.nodes.rules.PlotRules`). A boundary is a GeoJSON polygon in WGS84, longitude
first (RFC 7946). What is safe to repair is repaired and said (an open ring closed, repeated
points dropped, a ring that touches itself made valid when one shape comes out); what is not is
refused with a message a promotor can act on (a ring crossing itself into two shapes, fewer than
three points, a point outside Peru — with latitude and longitude swapped said as such).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from pyproj import Geod
from shapely import make_valid
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from fieldapp.errors import ValidationFailed

#: Peru's bounding box (longitude and latitude, degrees), a little wider than the border.
PERU_BBOX = (-81.5, -18.5, -68.5, 0.2)
#: The most points a boundary may have (a 500-point walk is a long one).
MAX_POINTS = 5000
#: The worst GPS accuracy (metres) a stored point may carry.
MAX_ACCURACY_M = 1000.0
#: Decimals kept of a coordinate (1e-7 degree: about a centimetre).
DECIMALS = 7
#: The WGS84 ellipsoid every area is measured on.
GEOD = Geod(ellps="WGS84")


@dataclass
class Boundary:
    """A checked boundary: the GeoJSON polygon stored, its area and what was repaired."""

    geojson: dict[str, Any]
    area_ha: float
    accuracies: list[float] | None = None
    repairs: list[str] = field(default_factory=list)

    @property
    def ring(self) -> list[list[float]]:
        """The outer ring, closed, ``[lon, lat]`` pairs."""
        return self.geojson["coordinates"][0]


def refuse(message: Any, **details: Any) -> ValidationFailed:
    """A boundary refused: the error shown next to the boundary field."""
    return ValidationFailed(message, field="boundary", **details)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def in_peru(lon: float, lat: float) -> bool:
    """Whether ``(lon, lat)`` falls in Peru's bounding box."""
    west, south, east, north = PERU_BBOX
    return west <= lon <= east and south <= lat <= north


def _point(raw: Any, n: int) -> tuple[float, float]:
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise refuse(_l("Point %(n)s is not a pair of coordinates.", n=n), point=n)
    lon, lat = _number(raw[0]), _number(raw[1])
    if lon is None or lat is None:
        raise refuse(_l("Point %(n)s is not a pair of numbers.", n=n), point=n)
    if not in_peru(lon, lat):
        if in_peru(lat, lon):
            raise refuse(_l("Point %(n)s has its latitude and longitude swapped: GeoJSON writes "
                            "the longitude first ([%(lon)s, %(lat)s]).", n=n,
                            lon=round(lat, 6), lat=round(lon, 6)), point=n, swapped=True)
        raise refuse(_l("Point %(n)s (latitude %(lat)s, longitude %(lon)s) is outside Peru.",
                        n=n, lat=round(lat, 6), lon=round(lon, 6)), point=n)
    return round(lon, DECIMALS), round(lat, DECIMALS)


def _rings(raw: Any) -> tuple[list[Any], bool]:
    """The rings of ``raw`` (GeoJSON text or object, or a list of points: a walk), and whether
    they came as GeoJSON (whose rings must be closed)."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise refuse(_l("The boundary is empty: walk it or tap its corners."))
        try:
            raw = json.loads(text)
        except ValueError:
            raise refuse(_l("The boundary is not GeoJSON.")) from None
    if isinstance(raw, dict) and raw.get("type") == "Feature":
        raw = raw.get("geometry")
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind == "MultiPolygon":
            raise refuse(_l("A plot is one shape: record each part as its own plot."))
        if kind != "Polygon" or not isinstance(raw.get("coordinates"), list) \
                or not raw["coordinates"]:
            raise refuse(_l("The boundary must be a GeoJSON polygon."))
        return raw["coordinates"], True
    if isinstance(raw, list):
        return [raw], False
    raise refuse(_l("The boundary must be a GeoJSON polygon."))


def _clean_ring(raw: Any, repairs: list[str], *,
                closed_expected: bool) -> list[tuple[float, float]]:
    if not isinstance(raw, list):
        raise refuse(_l("The boundary must be a GeoJSON polygon."))
    if len(raw) > MAX_POINTS:
        raise refuse(_l("A boundary has at most %(max)s points.", max=MAX_POINTS))
    points = [_point(p, n) for n, p in enumerate(raw, start=1)]
    if len(points) >= 2 and points[0] == points[-1]:
        points.pop()
    elif closed_expected and len(points) >= 3:
        repairs.append(str(_l("The boundary was open: it was closed from its last point to "
                              "its first.")))
    kept = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if len(kept) > 1 and kept[-1] == kept[0]:
        kept.pop()
    if len(kept) < len(points) and closed_expected:
        repairs.append(str(_l("Repeated points were dropped.")))
    if len(set(kept)) < 3:
        raise refuse(_l("A boundary needs at least 3 different points (it has %(n)s).",
                        n=len(set(kept))))
    return kept


def _crossing(polygon: Polygon) -> str:
    """Where a ring crosses itself, as ``latitude, longitude`` (from shapely's explanation)."""
    reason = explain_validity(polygon)
    if "[" in reason:
        try:
            lon, lat = (float(v) for v in reason.split("[", 1)[1].rstrip("]").split()[:2])
            return f"{lat:.6f}, {lon:.6f}"
        except ValueError:
            pass
    return reason


def _valid(polygon: Polygon, repairs: list[str]) -> Polygon:
    """``polygon`` made valid when one shape comes out (safe), refused otherwise."""
    if polygon.is_valid:
        return polygon
    where = _crossing(polygon)
    fixed = make_valid(polygon)
    parts = [g for g in getattr(fixed, "geoms", [fixed])
             if isinstance(g, Polygon) and g.area > 0]
    if not parts:
        raise refuse(_l("The boundary encloses no area: its points are on one line."))
    if len(parts) != 1:
        raise refuse(_l("The boundary crosses itself (near %(where)s) and makes %(n)s shapes: "
                        "walk it again, or move the corners so that the line never crosses.",
                        where=where, n=len(parts)), crossing=where)
    repairs.append(str(_l("The boundary touched itself (near %(where)s): it was repaired into "
                          "one shape.", where=where)))
    return parts[0]


def check_accuracies(raw: Any, count: int | None = None) -> list[float] | None:
    """The GPS accuracies (metres) of a boundary's points, checked: numbers between 0 and
    :data:`MAX_ACCURACY_M` (or null, a point tapped without a fix), one per point given.

    :param count: how many points were given (``None``: as many as there are accuracies).
    :raises ValidationFailed: on ``accuracies``.
    """
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValidationFailed(_l("The points' accuracies are not readable."),
                                   field="accuracies") from None
    if not isinstance(raw, list):
        raise ValidationFailed(_l("The points' accuracies are not readable."), field="accuracies")
    values = []
    for value in raw:
        number = None if value is None else _number(value)
        if value is not None and (number is None or not 0 <= number <= MAX_ACCURACY_M):
            raise ValidationFailed(_l("An accuracy is a number of metres between 0 and "
                                      "%(max)s.", max=int(MAX_ACCURACY_M)), field="accuracies")
        values.append(number)
    if len(values) > MAX_POINTS or (count is not None and len(values) != count):
        raise ValidationFailed(_l("There are %(got)s accuracies for %(n)s points.",
                                  got=len(values), n=count), field="accuracies")
    return values


def area_ha(polygon: Polygon) -> float:
    """The geodesic area of ``polygon`` (lon/lat on WGS84), in hectares."""
    area, _perimeter = GEOD.geometry_area_perimeter(polygon)
    return abs(area) / 10_000


def check_boundary(raw: Any, accuracies: Any = None) -> Boundary:
    """Read and check a boundary; repair what is safe to repair.

    :param raw: GeoJSON (text or object: a Polygon, or a Feature holding one) or a list of
        ``[lon, lat]`` points (a walk or tapped corners, closed or not).
    :param accuracies: the GPS accuracy (metres) of each point given, or ``None``.
    :returns: the boundary as stored (closed, counter-clockwise, rounded), its area and repairs.
    :raises ValidationFailed: on ``boundary`` (or ``accuracies``), with a message to act on.
    """
    repairs: list[str] = []
    rings, closed_expected = _rings(raw)
    outer = _clean_ring(rings[0], repairs, closed_expected=closed_expected)
    holes = [_clean_ring(r, repairs, closed_expected=True) for r in rings[1:]]
    given = len(rings[0]) if isinstance(rings[0], list) else 0
    checked_accuracies = check_accuracies(accuracies, given)
    polygon = _valid(Polygon(outer, holes), repairs)
    polygon = orient(polygon, sign=1.0)
    size = area_ha(polygon)
    if size <= 0:
        raise refuse(_l("The boundary encloses no area: its points are on one line."))
    shape = mapping(polygon)
    geojson = {"type": "Polygon", "coordinates": [
        [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in ring]
        for ring in shape["coordinates"]]}
    return Boundary(geojson, round(size, 4), checked_accuracies, repairs)


def shape_of(geojson: dict[str, Any]) -> Polygon:
    """The shapely polygon of a stored boundary."""
    rings = geojson["coordinates"]
    return Polygon(rings[0], rings[1:])


def differs(area: float | None, declared: float | None, tolerance: float) -> bool:
    """Whether the measured ``area`` and the ``declared`` hectares differ by more than
    ``tolerance`` (a fraction of the larger): the plot is flagged for review."""
    if area is None or declared is None or declared <= 0:
        return False
    return abs(area - declared) > tolerance * max(area, declared)
