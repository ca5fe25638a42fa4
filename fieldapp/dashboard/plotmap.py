"""The map of family plots, drawn as SVG from latitude and longitude: no tile server, offline.

Points are projected with an equirectangular projection around the data's mean latitude
(distances are true to within a fraction of a percent over a protected forest's extent).
Each point is a link to the family's page; communities are labelled at the centre of their
families' plots; a scale bar gives the distances.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import func, select

from fieldapp.auth.access import scoped_community_ids
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.dashboard.charts import STATUS_COLOURS, STATUS_SHAPES, marker
from fieldapp.dashboard.filters import Filters
from fieldapp.extensions import db
from fieldapp.families.models import Family
from sync.state import current_state

WIDTH, HEIGHT, PAD = 900, 640, 40
KM_PER_DEGREE = 111.32
#: A ring with more vertices than this, once rounded to the map's units, is simplified.
SIMPLIFY_ABOVE = 12


@dataclass
class Point:
    family_id: Any
    code: str
    name: str
    lat: float
    lon: float
    status: str


@dataclass
class Shape:
    """A plot drawn as its boundary: its family's status, and its alerts (``open``: one to
    verify; ``confirmed``: clearing confirmed; ``""``: none)."""

    plot_id: Any
    family_id: Any
    label: str
    status: str
    rings: list[list[list[float]]]
    alert: str


def _statuses(f: Filters) -> Any:
    """The families of the filters with their status on the day (a subquery ``fs``)."""
    from fieldapp.dashboard import rollups
    from fieldapp.dashboard.conditions import drafted_by_staff, in_community
    from fieldapp.dashboard.models import FamilyStatus

    rollups.refresh(f)
    conditions = [FamilyStatus.asof == f.asof, *in_community(f, FamilyStatus.community_id)]
    if f.staff_id is not None:
        conditions.append(FamilyStatus.family_id.in_(drafted_by_staff(f)))
    return select(FamilyStatus.family_id, FamilyStatus.status).where(*conditions).subquery("fs")


def plot_shapes(f: Filters) -> list[Shape]:
    """The plots with a boundary of the filters' families, with status and alerts."""
    from fieldapp.plots.models import AlertCheck, Plot

    fs = _statuses(f)
    alerts: dict[Any, str] = {}
    for plot_id, status in db.session.execute(
            select(AlertCheck.plot_id, AlertCheck.status)
            .where(AlertCheck.voided.is_(False),
                   (AlertCheck.status == "open") | (AlertCheck.answer == "confirmed"))):
        if status == "open" or alerts.get(plot_id) != "open":
            alerts[plot_id] = "open" if status == "open" else "confirmed"
    rows = db.session.execute(
        select(Plot.id, Plot.name, Plot.boundary, Family.id.label("family_id"), Family.code,
               fs.c.status)
        .join(Family, Family.id == Plot.family_id)
        .join(fs, fs.c.family_id == Family.id)
        .where(Plot.voided.is_(False), Plot.boundary.is_not(None))
        .order_by(Family.code, Plot.name))
    return [Shape(r.id, r.family_id, f"{r.code} · {r.name}", r.status,
                  r.boundary["coordinates"], alerts.get(r.id, "")) for r in rows]


def map_data(f: Filters) -> tuple[list[Point], list[tuple[str, float, float, int]], int]:
    """Families with a location and their status; community label positions; families without one.

    Statuses come from the day's cached statuses; community positions are the mean of their
    families' plots (computed in SQL).
    """
    fs = _statuses(f)
    located = (Family.lat.is_not(None), Family.lon.is_not(None))
    points = [
        Point(r.id, r.code, f"{r.head_given_names} {r.head_surname}", r.lat, r.lon, r.status)
        for r in db.session.execute(
            select(
                Family.id,
                Family.code,
                Family.head_given_names,
                Family.head_surname,
                Family.lat,
                Family.lon,
                fs.c.status,
            )
            .join(fs, fs.c.family_id == Family.id)
            .where(*located)
            .order_by(Family.code)
        )
    ]
    labels = [
        (r.name, float(r.lat), float(r.lon), int(r.n))
        for r in db.session.execute(
            select(
                Community.name,
                func.avg(Family.lat).label("lat"),
                func.avg(Family.lon).label("lon"),
                func.count().label("n"),
            )
            .join(fs, fs.c.family_id == Family.id)
            .join(Community, Community.id == Family.community_id)
            .where(*located)
            .group_by(Community.id, Community.name)
            .order_by(spanish(Community.name))
        )
    ]
    unlocated = db.session.scalar(
        select(func.count())
        .select_from(Family)
        .join(fs, fs.c.family_id == Family.id)
        .where((Family.lat.is_(None)) | (Family.lon.is_(None)))
    )
    return points, labels, int(unlocated or 0)


class Projection:
    """Degrees to SVG units, fitted to the points with a margin, north up."""

    def __init__(self, coords: Iterable[tuple[float, float]]) -> None:
        coords = list(coords)
        lats = [c[0] for c in coords] or [0.0]
        lons = [c[1] for c in coords] or [0.0]
        self.kx = math.cos(math.radians(sum(lats) / len(lats)))
        # At least ~2 km across, so a single community does not blow up to the whole frame.
        min_span = 0.02
        lat_mid, lon_mid = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2
        lat_span = max(max(lats) - min(lats), min_span)
        lon_span = max((max(lons) - min(lons)) * self.kx, min_span)
        self.scale = min((WIDTH - 2 * PAD) / lon_span, (HEIGHT - 2 * PAD) / lat_span)
        self.lat_mid, self.lon_mid = lat_mid, lon_mid

    def __call__(self, lat: float, lon: float) -> tuple[float, float]:
        x = WIDTH / 2 + (lon - self.lon_mid) * self.kx * self.scale
        y = HEIGHT / 2 - (lat - self.lat_mid) * self.scale
        return x, y

    def scale_bar_km(self) -> tuple[float, float]:
        """A round distance (km) and its length in SVG units, about a sixth of the width."""
        km_per_unit = KM_PER_DEGREE / self.scale
        target = WIDTH / 6 * km_per_unit
        magnitude = 10 ** math.floor(math.log10(target))
        km = max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target)
        return km, km / km_per_unit


def _ring_path(ring: Sequence[Sequence[float]], project: Projection, hole: bool = False) -> str:
    """A ring drawn to the map's resolution: vertices rounded to whole SVG units (a unit is
    a few metres to a few hundred metres), repeats dropped, and a ring of many vertices (a walked
    boundary) simplified to within a unit. A plot smaller than a unit becomes a one-unit
    square where it lies, so that it still shows its colour and its alert outline (a hole that
    small is left out)."""
    points: list[tuple[int, int]] = []
    for lon, lat in ring:
        x, y = project(lat, lon)
        point = (round(x), round(y))
        if not points or point != points[-1]:
            points.append(point)
    if len(set(points)) < 3:
        if hole:
            return ""
        x, y = points[0]
        return f"M{x} {y}h1v1h-1Z"
    if len(points) > SIMPLIFY_ABOVE:
        line = shapely.simplify(shapely.linestrings(points), 0.75, preserve_topology=False)
        simplified = [(round(x), round(y)) for x, y in line.coords]
        if len(set(simplified)) >= 3:
            points = simplified
    return "M" + "L".join(f"{x} {y}" for x, y in points) + "Z"


def _url_of(endpoint: str, argument: str) -> Callable[[Any], str]:
    """``url_for(endpoint, argument=value)`` for many values: built once, the id swapped in
    (tens of thousands of links on a program's map)."""
    probe = uuid.UUID(int=0)
    template = url_for(endpoint, **{argument: probe})
    return lambda value: template.replace(str(probe), str(value))


def _shape_paths(shapes: Sequence[Shape], project: Projection,
                 status_labels: dict[str, str]) -> list[str]:
    """Each plot's boundary as a linked path, filled with its family's status colour and
    outlined by its alerts."""
    out = []
    link = _url_of("plots.detail", "plot_id")
    for shape in shapes:
        d = "".join(_ring_path(ring, project, hole=n > 0)
                    for n, ring in enumerate(shape.rings) if ring)
        href = link(shape.plot_id)
        colour = STATUS_COLOURS.get(shape.status, "#000")
        tip = f"{shape.label} · {status_labels.get(shape.status, shape.status)}"
        out.append(
            f'<a href="{href}" xlink:href="{href}" class="plotshape alert-{shape.alert or "none"}"'
            f' data-status="{shape.status}" data-alert="{shape.alert}"><path d="{d}" '
            f'fill="{colour}" fill-rule="evenodd"><title>{escape(tip)}</title></path></a>')
    return out


def render_map(
    points: Sequence[Point],
    labels: Sequence[tuple[str, float, float, int]],
    status_labels: dict[str, str],
    shapes: Sequence[Shape] = (),
) -> Markup:
    """The SVG map: the plots' boundaries (coloured by status, outlined by alerts), one linked
    marker per family (shape and colour by status), community labels, legend and scale bar.

    A ``group``, not an ``img``: an image hides its contents, and the family links inside must
    stay reachable by keyboard and screen reader.
    """
    corners = [(lat, lon) for s in shapes for ring in s.rings[:1] for lon, lat in ring[:1]]
    project = Projection([(p.lat, p.lon) for p in points] + corners)
    radius = 7 if len(points) <= 300 else 5 if len(points) <= 3000 else 3.5
    out = [
        f'<svg class="plotmap" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" '
        f'aria-labelledby="plotmap-title" xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:xlink="http://www.w3.org/1999/xlink">',
        '<title id="plotmap-title">'
        f"{escape(_('Map of family plots by compliance status'))}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#f4f7f2"/>',
        *_shape_paths(shapes, project, status_labels),
    ]
    family_link = _url_of("families.detail", "family_id")
    for p in points:
        x, y = project(p.lat, p.lon)
        href = family_link(p.family_id)
        tip = f"{p.code} · {p.name} · {status_labels.get(p.status, p.status)}"
        out.append(
            f'<a href="{href}" xlink:href="{href}" class="plot plot-{p.status}" '
            f'data-status="{p.status}">'
            + marker(
                STATUS_SHAPES.get(p.status, "circle"),
                x,
                y,
                radius,
                STATUS_COLOURS.get(p.status, "#000"),
                inner=f"<title>{escape(tip)}</title>",
            )
            + "</a>"
        )
    for name, lat, lon, _n in labels:
        x, y = project(lat, lon)
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="plotmap-label" '
            f'paint-order="stroke" stroke="#fff" stroke-width="4" fill="#1b1f1d">'
            f"{escape(name)}</text>"
        )
    if points or shapes:
        km, length = project.scale_bar_km()
        x0, y0 = PAD, HEIGHT - 18
        out.append(
            f'<line x1="{x0}" y1="{y0}" x2="{x0 + length:.1f}" y2="{y0}" stroke="#1b1f1d" '
            f'stroke-width="3"/>'
        )
        out.append(
            f'<text x="{x0}" y="{y0 - 8}" class="plotmap-scale">'
            f"{escape(_('%(km)s km', km=f'{km:g}'))}</text>"
        )
        out.append(
            f'<text x="{WIDTH - PAD}" y="{PAD}" text-anchor="end" class="plotmap-north">'
            f"{escape(_('N ↑'))}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


@dataclass
class MapPage:
    """What the map page shows beside its filters: the drawing and the counts of what is on it."""

    svg: Markup
    counts: dict[str, int]
    plots: int
    alerts: dict[str, int]
    unlocated: int


#: Drawn maps a process keeps, the least recently shown dropped first (the whole program's
#: at scale 10 is some 7 MB of SVG; a community's a few hundred KB).
CACHED_MAPS = 4
_cache_lock = threading.Lock()


def data_version() -> tuple[Any, ...] | None:
    """A marker that changes with every change to the synced records (a plot, an alert to
    verify, a visit and its findings, an agreement, a family...): the sync engine's counters
    (central's change-log number; a field node's operation number and pull cursor), which every
    write moves in its own transaction, whichever process makes it. ``None`` without sync."""
    state = current_state()
    if state is None:
        return None
    t = state.tables.state
    return tuple(db.session.execute(select(t.c.key, t.c.value).order_by(t.c.key)).all())


def program_map(f: Filters, status_labels: dict[str, str]) -> MapPage:
    """The map of the filters' families, drawn once per change of the records: kept per
    process, keyed by :func:`data_version`, the selection's day, community and staff member,
    the user's communities, the language and the app's address."""
    version = data_version()
    scope = scoped_community_ids()
    key = (version, f.asof, f.community_id, f.staff_id, f.staff_name,
           tuple(sorted(map(str, scope))) if scope is not None else None,
           str(get_locale()), request.script_root)
    cache: OrderedDict[Any, MapPage] = current_app.extensions.setdefault(
        "dashboard", {}).setdefault("maps", OrderedDict())
    with _cache_lock:
        page = cache.get(key)
        if page is not None:
            cache.move_to_end(key)
            return page
    page = _draw_map(f, status_labels)
    if version is not None:
        with _cache_lock:
            cache[key] = page
            while len(cache) > CACHED_MAPS:
                cache.popitem(last=False)
    return page


def _draw_map(f: Filters, status_labels: dict[str, str]) -> MapPage:
    points, labels, unlocated = map_data(f)
    counts: dict[str, int] = {}
    for point in points:  # one pass over the points being drawn anyway
        counts[point.status] = counts.get(point.status, 0) + 1
    shapes = plot_shapes(f)
    return MapPage(
        svg=render_map(points, labels, status_labels, shapes),
        counts=counts,
        plots=len(shapes),
        alerts={"open": sum(s.alert == "open" for s in shapes),
                "confirmed": sum(s.alert == "confirmed" for s in shapes)},
        unlocated=unlocated,
    )
