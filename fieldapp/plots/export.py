"""Plots exported for GIS staff (GeoJSON) and Google Earth (KML): each plot's boundary with its
family's code, community, plot name, areas and review flag; no names or DNIs."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from fieldapp.families.models import Family
from fieldapp.plots.models import Plot


def properties(plot: Plot, family: Family, community: str) -> dict[str, Any]:
    """What a plot carries besides its shape."""
    return {"plot_id": str(plot.id), "family_code": family.code, "community": community,
            "name": plot.name, "declared_ha": plot.declared_ha, "area_ha": plot.area_ha,
            "area_review": plot.area_review, "method": plot.method,
            "boundary_version": plot.boundary_version}


def to_geojson(rows: list[tuple[Plot, Family, str]]) -> str:
    """A FeatureCollection of the plots (RFC 7946: WGS84, longitude first)."""
    features = [{"type": "Feature", "id": str(plot.id), "geometry": plot.boundary,
                 "properties": properties(plot, family, community)}
                for plot, family, community in rows]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":"))


def _ring(ring: list[list[float]]) -> str:
    return " ".join(f"{lon},{lat},0" for lon, lat in ring)


def to_kml(rows: list[tuple[Plot, Family, str]], title: str) -> str:
    """A KML document: a placemark per plot with its boundary and its values."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>',
           f"<name>{escape(title)}</name>"]
    for plot, family, community in rows:
        rings = plot.boundary["coordinates"]
        inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_ring(r)}</coordinates>"
                        "</LinearRing></innerBoundaryIs>" for r in rings[1:])
        data = "".join(f'<Data name="{escape(k)}"><value>{escape(str(v))}</value></Data>'
                       for k, v in properties(plot, family, community).items() if v is not None)
        out.append(
            f"<Placemark><name>{escape(family.code)} · {escape(plot.name)}</name>"
            f"<ExtendedData>{data}</ExtendedData><Polygon><outerBoundaryIs><LinearRing>"
            f"<coordinates>{_ring(rings[0])}</coordinates></LinearRing></outerBoundaryIs>"
            f"{inner}</Polygon></Placemark>")
    out.append("</Document></kml>")
    return "\n".join(out)
