"""Deforestation alerts: imported on central, matched to plots, turned into alerts to verify,
answered by a compliance visit.

An alert (a point or a polygon with a date) is matched to the plots it falls in, or passes
within ``ALERT_BUFFER_M`` metres of, through shapely's STRtree (one bulk query for the file).
On a plot under agreement (its family's agreement signed or active, signed before the alert's
date) it becomes an :class:`~fieldapp.plots.models.AlertCheck` assigned to the plot's
community: synced to its nodes and tablets, it is on the promotores' worklist until a visit
answers it. A confirmed clearing proposes the next sanction of the ladder
(:func:`fieldapp.compliance.operations.propose_sanction`) for a coordinator to confirm.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import shapely
from flask import current_app
from flask_babel import lazy_gettext as _l
from shapely.geometry import shape
from shapely.ops import nearest_points
from sqlalchemy import insert, select

from fieldapp.agreements.models import Agreement
from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.compliance.operations import propose_sanction
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.formatting import format_day
from fieldapp.models import current_node_id, new_id, utcnow
from fieldapp.plots.alert_files import AlertRow, read_alerts
from fieldapp.plots.checks import answer_problem
from fieldapp.plots.geometry import GEOD
from fieldapp.plots.models import Alert, AlertCheck, Plot

#: Agreement statuses under which a plot is "under agreement".
UNDER_AGREEMENT = ("signed", "active")
#: Metres per degree of latitude; a degree of longitude is this times cos(latitude).
METRES_PER_DEGREE = 111_320.0
#: The cosine of Peru's southernmost latitude (18.5° S): a buffer in degrees made with it is
#: never smaller than the buffer in metres anywhere in the country.
MIN_COS = math.cos(math.radians(18.5))


@dataclass
class ImportReport:
    """What an import did: alerts read, new, already imported, repeated in the file, and the
    alerts to verify it made."""

    read: int = 0
    new: int = 0
    known: int = 0
    repeated: int = 0
    matched: int = 0
    checks: int = 0
    check_ids: list[uuid.UUID] = field(default_factory=list)


def buffer_m() -> float:
    """ALERT_BUFFER_M of the running app."""
    return float(current_app.config.get("ALERT_BUFFER_M", 50))


def import_alerts(data: bytes, file_name: str, source: str | None = None,
                  buffer: float | None = None) -> ImportReport:
    """Import an alert file: every line checked first (a bad one refuses the file, nothing
    stored), alerts already imported skipped by their natural key, the new ones stored and
    matched to plots.

    :param buffer: metres around a plot an alert still matches (default ``ALERT_BUFFER_M``).
    :raises AlertFileRefused: with the bad line's number.
    """
    rows = read_alerts(data, file_name, source)
    report = ImportReport(read=len(rows))
    unique: dict[str, AlertRow] = {}
    for row in rows:
        unique.setdefault(row.key, row)
    report.repeated = len(rows) - len(unique)
    keys = list(unique)
    known: set[str] = set()
    for start in range(0, len(keys), 900):
        known.update(db.session.execute(
            select(Alert.key).where(Alert.key.in_(keys[start:start + 900]))).scalars())
    fresh = [row for key, row in unique.items() if key not in known]
    report.known = len(unique) - len(fresh)
    report.new = len(fresh)
    if fresh:
        _store(fresh, file_name[-200:])
        checks = match_alerts(fresh, buffer_m() if buffer is None else buffer)
        report.matched = len({c["alert_key"] for c in checks})
        report.checks = len(checks)
        report.check_ids = [c["id"] for c in checks]
    return report


def _store(rows: list[AlertRow], file_name: str) -> None:
    """Insert the new alerts in bulk (100,000 in a few seconds: on SQLite the values go as
    SQLite stores them, without SQLAlchemy's per-value processing)."""
    now = utcnow()
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        db.session.execute(insert(Alert.__table__), [
            {"key": r.key, "source": r.source, "detected_on": r.detected_on,
             "confidence": r.confidence, "geometry": r.geometry, "lon": r.lon, "lat": r.lat,
             "area_ha": r.area_ha, "imported_at": now, "file_name": file_name} for r in rows])
        return
    at = now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    connection.exec_driver_sql(
        "INSERT INTO alerts (key, source, detected_on, confidence, geometry, lon, lat, area_ha, "
        "imported_at, file_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.key, r.source, r.detected_on.isoformat(), r.confidence,
          orjson.dumps(r.geometry).decode(), r.lon, r.lat, r.area_ha, at, file_name)
         for r in rows])


@dataclass
class _Candidate:
    plot_id: uuid.UUID
    family_id: uuid.UUID
    community_id: uuid.UUID
    shape: Any


def _plots_under_agreement() -> tuple[list[_Candidate], dict[uuid.UUID, list[tuple]]]:
    """Plots with a boundary whose family has an agreement signed or active, and each such
    family's agreements as ``(signed day, agreement id)``."""
    agreements: dict[uuid.UUID, list[tuple]] = defaultdict(list)
    for family_id, agreement_id, signed_at, period_start in db.session.execute(
            select(Agreement.family_id, Agreement.id, Agreement.signed_at,
                   Agreement.period_start)
            .where(Agreement.status.in_(UNDER_AGREEMENT), Agreement.voided.is_(False))):
        signed_on = signed_at.date() if signed_at is not None else period_start
        agreements[family_id].append((signed_on, agreement_id))
    candidates = []
    for plot_id, family_id, community_id, boundary in db.session.execute(
            select(Plot.id, Plot.family_id, Family.community_id, Plot.boundary)
            .join(Family, Family.id == Plot.family_id)
            .where(Plot.voided.is_(False), Family.voided.is_(False),
                   Plot.boundary.is_not(None))):
        if family_id in agreements:
            candidates.append(_Candidate(plot_id, family_id, community_id, shape(boundary)))
    return candidates, agreements


def _distance_m(alert: Any, plot: Any) -> float:
    """Metres between an alert and a plot (0 when they touch), on the ellipsoid."""
    if alert.intersects(plot):
        return 0.0
    a, b = nearest_points(alert, plot)
    _az1, _az2, metres = GEOD.inv(a.x, a.y, b.x, b.y)
    return float(metres)


def match_alerts(alerts: list[AlertRow], buffer: float) -> list[dict[str, Any]]:
    """Alerts to verify for the ``alerts`` that fall on plots under agreement (or within
    ``buffer`` metres of one) after the agreement was signed; one per alert and plot, inserted
    in bulk (captured for sync as any statement of the session). Returns their values."""
    candidates, agreements = _plots_under_agreement()
    if not candidates or not alerts:
        return []
    tree = shapely.STRtree([c.shape for c in candidates])
    # Points in one vectorised call (most alerts are points); polygons one by one.
    shapes = shapely.points([a.geometry["coordinates"] if a.geometry["type"] == "Point"
                             else [0.0, 0.0] for a in alerts])
    for n, a in enumerate(alerts):
        if a.geometry["type"] != "Point":
            shapes[n] = shape(a.geometry)
    if buffer > 0:
        degrees = buffer / (METRES_PER_DEGREE * MIN_COS)
        alert_idx, plot_idx = tree.query(shapes, predicate="dwithin", distance=degrees)
    else:
        alert_idx, plot_idx = tree.query(shapes, predicate="intersects")
    keys = list({alerts[i].key for i in alert_idx.tolist()})
    existing: set[tuple[str, Any]] = set()
    for start in range(0, len(keys), 900):
        existing.update(db.session.execute(
            select(AlertCheck.alert_key, AlertCheck.plot_id).where(
                AlertCheck.alert_key.in_(keys[start:start + 900]))).all())
    now = utcnow()
    origin = current_node_id()
    made: list[dict[str, Any]] = []
    for i, j in zip(alert_idx.tolist(), plot_idx.tolist(), strict=True):
        alert, plot = alerts[i], candidates[j]
        if (alert.key, plot.plot_id) in existing:
            continue
        distance = _distance_m(shapes[i], plot.shape)
        if distance > buffer:
            continue
        signed = [(day, a) for day, a in agreements[plot.family_id] if day < alert.detected_on]
        if not signed:
            continue  # the alert is older than the agreement: not the family's to answer
        agreement_id = max(signed, key=lambda pair: pair[0])[1]
        made.append({
            "id": new_id(), "alert_key": alert.key, "community_id": plot.community_id,
            "family_id": plot.family_id, "plot_id": plot.plot_id, "agreement_id": agreement_id,
            "source": alert.source, "detected_on": alert.detected_on,
            "confidence": alert.confidence, "geometry": alert.geometry, "lon": alert.lon,
            "lat": alert.lat, "distance_m": round(distance, 1), "status": "open",
            "created_at": now, "updated_at": now, "origin_node": origin, "version": 1,
            "voided": False})
        existing.add((alert.key, plot.plot_id))
    if made:
        db.session.execute(insert(AlertCheck), made)
    return made


def visit_of_day(family_id: uuid.UUID, day: Any) -> ComplianceVisit | None:
    """The family's compliance visit of ``day`` (the latest recorded, if several)."""
    if not isinstance(day, date):
        return None
    return db.session.execute(
        select(ComplianceVisit).where(ComplianceVisit.family_id == family_id,
                                      ComplianceVisit.visited_on == day,
                                      ComplianceVisit.voided.is_(False))
        .order_by(ComplianceVisit.created_at.desc()).limit(1)).scalar_one_or_none()


def answer_alert(check: AlertCheck, data: dict[str, Any], user: Any = None) -> AlertCheck:
    """Answer an alert to verify from the compliance visit of a day: clearing confirmed (with
    its area in hectares), a false alarm, or clearing outside the plot. A confirmed clearing
    proposes the next sanction of the ladder for a coordinator to confirm.

    The visit is the family's visit of ``visited_on``: on a tablet offline, the visit and then
    the answer wait in the outbox and reach the node in that order. The same answer sent again
    (a replay) changes nothing.

    :param data: ``answer``, ``cleared_ha``, ``visited_on``.
    :raises ValidationFailed: another answer already given, no visit of the family that day,
        a visit before the alert, or an answer that breaks
        :func:`~fieldapp.plots.checks.answer_problem`.
    :raises OutOfScope: the alert is in a community the user does not work in.
    """
    check_write_scope(check.community_id)
    answer = data.get("answer")
    cleared = data.get("cleared_ha") if answer == "confirmed" else None
    visited_on = data.get("visited_on")
    if check.status != "open":
        if (check.answer, check.cleared_ha, check.answered_on) == (answer, cleared, visited_on):
            return check  # the same answer again: a replay
        raise ValidationFailed(_l("This alert was already answered."), field="answer")
    problem = answer_problem({"status": "answered", "answer": answer, "cleared_ha": cleared})
    if problem is not None:
        raise ValidationFailed(problem, field="cleared_ha" if answer == "confirmed"
                               else "answer")
    if not isinstance(visited_on, date):
        raise ValidationFailed(_l("Enter the date of the visit."), field="visited_on")
    if visited_on < check.detected_on:
        raise ValidationFailed(_l("The visit (%(visit)s) is older than the alert (%(alert)s).",
                                  visit=format_day(visited_on),
                                  alert=format_day(check.detected_on)), field="visited_on")
    visit = visit_of_day(check.family_id, visited_on)
    if visit is None:
        raise ValidationFailed(_l("This family has no compliance visit on %(date)s: record the "
                                  "visit first, then answer the alert.",
                                  date=format_day(visited_on)), field="visited_on")
    before = snapshot(check)
    check.status = "answered"
    check.answer = answer
    check.cleared_ha = cleared
    check.visit_id = visit.id
    check.answered_on = visit.visited_on
    check.answered_by = getattr(user, "username", None)
    record("alert:answer", check, before=before, family_id=check.family_id)
    if answer == "confirmed":
        agreement = db.session.get(Agreement, visit.agreement_id)
        propose_sanction(visit, agreement, [str(_l(
            "clearing of %(ha)s ha confirmed on plot %(plot)s (alert of %(date)s)",
            ha=cleared, plot=check.plot.name, date=format_day(check.detected_on)))])
    return check
