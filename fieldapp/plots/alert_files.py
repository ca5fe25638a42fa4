"""Reading deforestation alert files as monitoring platforms export them (GLAD-L, GLAD-S2,
RADD-style): GeoJSON (a FeatureCollection of points or polygons) or CSV (a point per line, or a
polygon as WKT or GeoJSON in a column).

- CSV: UTF-8 (with or without a byte-order mark) or Windows-1252; the separator (``,`` ``;``
  or a tab) is the one the first line holds most of; columns in any order, found by their
  header in English or Spanish (``lat``/``latitud``, ``fecha``, ``confianza``...); decimal
  commas read (``-6,0123``).
- Dates: ``2026-03-01`` (a time after it is ignored), ``01/03/2026`` (day first), ``20260301``.
- Every line is checked before anything is stored: a bad line (no date, a point outside Peru,
  latitude and longitude swapped, a polygon that crosses itself) refuses the file with its line
  number (for GeoJSON: the feature's number), and nothing is imported.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from shapely import wkt
from shapely.errors import ShapelyError
from shapely.geometry import mapping

from fieldapp.errors import ValidationFailed
from fieldapp.plots.geometry import check_boundary, in_peru, shape_of

#: Header words (lower case, accents and spaces dropped) of each column read.
COLUMNS = {
    "lat": ("lat", "latitude", "latitud", "y"),
    "lon": ("lon", "lng", "long", "longitude", "longitud", "x"),
    "date": ("date", "fecha", "alertdate", "alert_date", "detected_on", "detectedon",
             "datedetected", "date_detected", "fechadealerta", "fecha_alerta"),
    "confidence": ("confidence", "confianza", "conf", "alertconfidence", "alert_confidence"),
    "geometry": ("geometry", "geom", "wkt", "geojson", "shape", "geometria"),
    "source": ("source", "system", "fuente", "sistema", "platform", "plataforma"),
}


class AlertFileRefused(ValidationFailed):
    """An alert file refused as a whole (nothing imported): ``line`` says where."""

    code = "alert_file_refused"


@dataclass(frozen=True)
class AlertRow:
    """One alert as read: its natural key, date, confidence, shape and centre."""

    key: str
    source: str
    detected_on: date
    confidence: str | None
    geometry: dict[str, Any]
    lon: float
    lat: float
    area_ha: float | None
    line: int


def _norm(header: str) -> str:
    return re.sub(r"[\s\-]", "", header.strip().lower()).replace("í", "i").replace("é", "e")


def _refused(line: int, message: Any) -> AlertFileRefused:
    return AlertFileRefused(_l("Line %(line)s: %(message)s Nothing was imported.", line=line,
                               message=message), line=line, field="file")


def _number(text: str) -> float:
    try:
        return float(text)  # the common case, at once
    except ValueError:
        pass
    text = text.strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def parse_date(raw: Any) -> date | None:
    """An alert's date as platforms write it, or ``None``."""
    return _parse_date(str(raw or "").strip())


@functools.lru_cache(maxsize=8192)
def _parse_date(text: str) -> date | None:
    """:func:`parse_date` of a stripped text (a file's alerts share a few hundred dates)."""
    if not text:
        return None
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    for pattern, fmt in ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{4}/\d{2}/\d{2}", "%Y/%m/%d"),
                         (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"),
                         (r"\d{1,2}-\d{1,2}-\d{4}", "%d-%m-%Y"), (r"\d{8}", "%Y%m%d")):
        found = re.match(pattern, text)
        if found:
            try:
                return datetime.strptime(found.group(0), fmt).date()
            except ValueError:
                return None
    return None


def natural_key(source: str, detected_on: date, geometry: dict[str, Any]) -> str:
    """The alert's natural key: its source, date and shape (coordinates to 1e-6 degree)."""
    coords = geometry["coordinates"]
    if geometry["type"] == "Point":
        shape = f"{coords[0]:.6f},{coords[1]:.6f}"
    else:
        shape = ";".join(" ".join(f"{x:.6f},{y:.6f}" for x, y in ring) for ring in coords)
    text = f"{source.lower()}|{detected_on.isoformat()}|{geometry['type']}|{shape}"
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _point(lon: float, lat: float) -> None:
    if not in_peru(lon, lat):
        if in_peru(lat, lon):
            raise ValidationFailed(_l("latitude and longitude are swapped (latitude %(lat)s, "
                                      "longitude %(lon)s).", lat=lon, lon=lat))
        raise ValidationFailed(_l("the point (latitude %(lat)s, longitude %(lon)s) is outside "
                                  "Peru.", lat=lat, lon=lon))


def _shape(geometry: Any) -> tuple[dict[str, Any], float, float, float | None]:
    """A checked alert shape: (GeoJSON, lon, lat of its centre, area in ha or ``None``)."""
    if not isinstance(geometry, dict):
        raise ValidationFailed(_l("no point or polygon."))
    kind = geometry.get("type")
    if kind == "Point":
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2 \
                or type(coords[0]) not in (int, float) or type(coords[1]) not in (int, float):
            raise ValidationFailed(_l("a point needs a longitude and a latitude."))
        lon, lat = float(coords[0]), float(coords[1])
        _point(lon, lat)
        return {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}, lon, lat, None
    if kind == "Polygon":
        checked = check_boundary(geometry)
        centre = shape_of(checked.geojson).centroid
        return checked.geojson, centre.x, centre.y, checked.area_ha
    raise ValidationFailed(_l("only points and polygons are read (this is %(kind)s).",
                              kind=str(kind)[:20]))


def _row(line: int, source: str, raw_date: Any, confidence: Any,
         geometry: Any) -> AlertRow:
    try:
        detected_on = parse_date(raw_date)
        if detected_on is None:
            raise ValidationFailed(_l("no date (or one not written as 2026-03-01 or "
                                      "01/03/2026)."))
        shape, lon, lat, area = _shape(geometry)
    except ValidationFailed as error:
        raise _refused(line, error.message) from None
    conf = None if confidence in (None, "") else str(confidence).strip()[:20]
    return AlertRow(natural_key(source, detected_on, shape), source[:40], detected_on, conf,
                    shape, lon, lat, area, line)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_geojson(text: str, source: str) -> Iterator[AlertRow]:
    """The alerts of a GeoJSON FeatureCollection (a feature's number stands for its line)."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise _refused(getattr(error, "lineno", 1), _l("this is not readable JSON.")) from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise _refused(1, _l("a GeoJSON alert file is a FeatureCollection."))
    for n, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        properties = properties if isinstance(properties, dict) else {}
        found = {_norm(k): v for k, v in properties.items()}
        values = {name: next((found[w] for w in words if w in found), None)
                  for name, words in COLUMNS.items()}
        yield _row(n, str(values["source"] or source), values["date"], values["confidence"],
                   feature.get("geometry") if isinstance(feature, dict) else None)


def _csv_geometry(text: str) -> Any:
    text = text.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            raise ValidationFailed(_l("the shape is not readable.")) from None
    try:
        return mapping(wkt.loads(text))
    except (ShapelyError, ValueError):
        raise ValidationFailed(_l("the shape is not readable.")) from None


def _as_lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    return value


def read_csv(text: str, source: str) -> Iterator[AlertRow]:
    """The alerts of a CSV file, one per line (line 1 is the header)."""
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise _refused(1, _l("the file is empty."))
    names = [_norm(h) for h in header]
    where = {name: next((i for i, h in enumerate(names) if h in words), None)
             for name, words in COLUMNS.items()}
    if where["geometry"] is None and (where["lat"] is None or where["lon"] is None):
        raise _refused(1, _l("the header names no latitude and longitude columns (lat, lon) "
                             "nor a geometry column."))
    if where["date"] is None:
        raise _refused(1, _l("the header names no date column (date, fecha)."))

    def cell(row: list[str], name: str) -> str | None:
        index = where[name]
        return row[index] if index is not None and index < len(row) else None

    for row in reader:
        line = reader.line_num
        if not "".join(row).strip():
            continue
        try:
            shape_text = cell(row, "geometry")
            if shape_text and shape_text.strip():
                geometry = _as_lists(_csv_geometry(shape_text))
            else:
                try:
                    geometry = {"type": "Point", "coordinates": [
                        _number(cell(row, "lon") or ""), _number(cell(row, "lat") or "")]}
                except ValueError:
                    raise ValidationFailed(_l("the latitude or longitude is not a number."
                                              )) from None
        except ValidationFailed as error:
            raise _refused(line, error.message) from None
        yield _row(line, str(cell(row, "source") or source), cell(row, "date"),
                   cell(row, "confidence"), geometry)


def read_alerts(data: bytes, file_name: str, source: str | None = None) -> list[AlertRow]:
    """Every alert of a file, checked (GeoJSON when it says so by its name or first
    character, CSV otherwise).

    :param source: the platform (GLAD-L, RADD...) when the file does not name it per alert.
    :raises AlertFileRefused: with the first bad line's number; nothing is read further.
    """
    text = _decode(data)
    # Not the file's name: the same alerts in a file named otherwise are the same alerts.
    source = (source or "").strip() or "alert"
    is_json = file_name.lower().endswith((".geojson", ".json")) or text.lstrip()[:1] == "{"
    return list(read_geojson(text, source) if is_json else read_csv(text, source))
