"""Plots drawn without tiles: shapes projected to the page, a scale bar and a north arrow.

Pure: shapes in, an SVG description out (the template writes the elements). Longitude and
latitude are projected around the drawing's centre (equirectangular: over a few kilometres the
error is far below a pixel), so the scale bar measures true metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: Metres per degree of latitude (mean).
METRES_PER_DEGREE = 111_320.0
#: Scale-bar lengths tried, in metres (the longest that fits a quarter of the width is used).
BAR_STEPS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)


@dataclass
class Shape:
    """One plot on the drawing: its SVG path, colour class, label and link."""

    path: str
    css: str
    label: str = ""
    url: str = ""


@dataclass
class Drawing:
    """What the map template draws."""

    width: int
    height: int
    shapes: list[Shape] = field(default_factory=list)
    points: list[tuple[float, float, str]] = field(default_factory=list)
    bar_px: float = 0.0
    bar_label: str = ""


def _bounds(rings: list[list[list[float]]]) -> tuple[float, float, float, float]:
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def draw(items: list[tuple[list[list[list[float]]], str, str, str]],
         points: list[tuple[float, float, str]] | None = None,
         width: int = 640, height: int = 480, margin: int = 24) -> Drawing:
    """Fit ``items`` (rings of ``[lon, lat]``, CSS class, label, link) to a drawing.

    :param points: alerts as ``(lon, lat, css)``, drawn as dots.
    """
    points = points or []
    rings = [ring for item in items for ring in item[0]] + [[[x, y]] for x, y, _ in points]
    drawing = Drawing(width, height)
    if not rings:
        return drawing
    west, south, east, north = _bounds(rings)
    mid_lat = math.radians((south + north) / 2)
    kx = METRES_PER_DEGREE * math.cos(mid_lat)
    span_x = max((east - west) * kx, 1.0)
    span_y = max((north - south) * METRES_PER_DEGREE, 1.0)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)  # px per metre
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def xy(lon: float, lat: float) -> str:
        x = off_x + (lon - west) * kx * scale
        y = height - off_y - (lat - south) * METRES_PER_DEGREE * scale
        return f"{x:.1f} {y:.1f}"

    for item_rings, css, label, url in items:
        path = " ".join("M" + " L".join(xy(p[0], p[1]) for p in ring) + " Z"
                        for ring in item_rings if ring)
        drawing.shapes.append(Shape(path, css, label, url))
    for lon, lat, css in points:
        x, y = xy(lon, lat).split()
        drawing.points.append((float(x), float(y), css))
    fitting = [m for m in BAR_STEPS if m * scale <= width / 4] or [BAR_STEPS[0]]
    metres = fitting[-1]
    drawing.bar_px = round(metres * scale, 1)
    drawing.bar_label = f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"
    return drawing


def rings_of(geojson: dict[str, Any] | None) -> list[list[list[float]]]:
    """The rings of a stored GeoJSON Polygon (none for no boundary)."""
    if not geojson or geojson.get("type") != "Polygon":
        return []
    return geojson["coordinates"]
