"""Reading plots: a family's, one with its history, and those of the user's communities."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from fieldapp.auth.access import check_community_scope
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.errors import NotFound
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.plots.models import AlertCheck, Plot, PlotBoundary


def family_plots(family_id: uuid.UUID) -> list[Plot]:
    """A family's plots (not voided), by name."""
    return list(db.session.execute(
        select(Plot).where(Plot.family_id == family_id, Plot.voided.is_(False))
        .order_by(Plot.name, Plot.created_at)).scalars())


def plot_or_404(plot_id: uuid.UUID) -> Plot:
    """The plot a page names, if the current user may see its family.

    :raises NotFound: an unknown or voided plot (or one of a voided family).
    :raises Forbidden: a plot of a community outside the user's scope.
    """
    plot = db.session.get(Plot, plot_id)
    if plot is None or plot.voided or plot.family.voided:
        raise NotFound()
    check_community_scope(plot.family.community_id)
    return plot


def boundary_history(plot_id: uuid.UUID) -> list[PlotBoundary]:
    """Every boundary a plot has had, newest first."""
    return list(db.session.execute(
        select(PlotBoundary).where(PlotBoundary.plot_id == plot_id)
        .order_by(PlotBoundary.created_at.desc(), PlotBoundary.number.desc())).scalars())


def plots_in(community_ids: list[Any] | None) -> list[tuple[Plot, Family]]:
    """Plots with a boundary in the given communities (all for ``None``), with their family."""
    stmt = (select(Plot, Family).join(Family, Family.id == Plot.family_id)
            .where(Plot.voided.is_(False), Family.voided.is_(False), Plot.boundary.is_not(None))
            .order_by(Family.community_id, Family.code, Plot.name))
    if community_ids is not None:
        stmt = stmt.where(Family.community_id.in_(community_ids))
    return [(plot, family) for plot, family in db.session.execute(stmt).all()]


def answerable_visits(check: AlertCheck) -> list[ComplianceVisit]:
    """The family's visits on or after the alert's date, newest first (the answer's choices)."""
    return list(db.session.execute(
        select(ComplianceVisit).where(
            ComplianceVisit.family_id == check.family_id, ComplianceVisit.voided.is_(False),
            ComplianceVisit.visited_on >= check.detected_on)
        .order_by(ComplianceVisit.visited_on.desc())).scalars())


def alert_checks(community_ids: list[Any] | None, status: str | None = "open") -> Any:
    """Alerts to verify in the given communities (all for ``None``), open ones by date."""
    stmt = (select(AlertCheck).where(AlertCheck.voided.is_(False))
            .order_by(AlertCheck.status.desc(), AlertCheck.detected_on, AlertCheck.id))
    if status is not None:
        stmt = stmt.where(AlertCheck.status == status)
    if community_ids is not None:
        stmt = stmt.where(AlertCheck.community_id.in_(community_ids))
    return stmt


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1]
                                                             + ordered[middle]) / 2


def alert_figures(community_ids: list[Any] | None) -> dict[str, Any]:
    """The alert figures: alerts received (imported on central; alerts to verify elsewhere),
    verified, confirmed; hectares under agreement; confirmed clearing per community; median
    days from the alert to the visit that answered it."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.communities.models import Community
    from fieldapp.plots.alerts import UNDER_AGREEMENT
    from fieldapp.plots.models import Alert

    checks = select(AlertCheck.community_id, AlertCheck.status, AlertCheck.answer,
                    AlertCheck.cleared_ha, AlertCheck.detected_on, AlertCheck.answered_on
                    ).where(AlertCheck.voided.is_(False))
    if community_ids is not None:
        checks = checks.where(AlertCheck.community_id.in_(community_ids))
    rows = db.session.execute(checks).all()
    received = (db.session.execute(select(db.func.count()).select_from(Alert)).scalar_one()
                if community_ids is None else None)
    answered = [r for r in rows if r.status == "answered"]
    confirmed = [r for r in answered if r.answer == "confirmed"]
    names = dict(db.session.execute(select(Community.id, Community.name)).all())
    clearing: dict[str, float] = {}
    for r in confirmed:
        name = names.get(r.community_id, "?")
        clearing[name] = round(clearing.get(name, 0.0) + (r.cleared_ha or 0.0), 4)
    under = (select(db.func.coalesce(db.func.sum(Plot.area_ha), 0.0))
             .join(Family, Family.id == Plot.family_id)
             .where(Plot.voided.is_(False), Family.voided.is_(False),
                    select(Agreement.id).where(Agreement.family_id == Plot.family_id,
                                               Agreement.status.in_(UNDER_AGREEMENT),
                                               Agreement.voided.is_(False)).exists()))
    if community_ids is not None:
        under = under.where(Family.community_id.in_(community_ids))
    return {
        "received": received, "to_verify": len(rows), "verified": len(answered),
        "confirmed": len(confirmed),
        "hectares_under_agreement": round(float(db.session.execute(under).scalar_one()), 2),
        "clearing_by_community": dict(sorted(clearing.items())),
        "median_days_to_visit": _median([(r.answered_on - r.detected_on).days
                                         for r in answered if r.answered_on]),
    }


def map_items(community_ids: list[Any] | None) -> tuple[list[tuple[Plot, Family, str, str]],
                                                      list[tuple[float, float]]]:
    """The plots to draw, each with its agreement state (``active``: signed or active;
    ``suspended``; ``no_agreement``) and alert (``open``, ``confirmed`` or ``""``), and the
    places of the open alerts."""
    from fieldapp.agreements.models import Agreement

    plots = plots_in(community_ids)
    family_ids = list({family.id for _plot, family in plots})
    states: dict[Any, str] = {}
    for start in range(0, len(family_ids), 900):
        for family_id, status in db.session.execute(
                select(Agreement.family_id, Agreement.status).where(
                    Agreement.family_id.in_(family_ids[start:start + 900]),
                    Agreement.voided.is_(False),
                    Agreement.status.in_(("signed", "active", "suspended")))):
            if status in ("signed", "active") or family_id not in states:
                states[family_id] = "active" if status in ("signed", "active") else status
    checks = select(AlertCheck.plot_id, AlertCheck.status, AlertCheck.answer, AlertCheck.lon,
                    AlertCheck.lat).where(AlertCheck.voided.is_(False))
    if community_ids is not None:
        checks = checks.where(AlertCheck.community_id.in_(community_ids))
    alerts: dict[Any, str] = {}
    places = []
    for plot_id, status, answer, lon, lat in db.session.execute(checks):
        if status == "open":
            alerts[plot_id] = "open"
            places.append((lon, lat))
        elif answer == "confirmed" and alerts.get(plot_id) != "open":
            alerts[plot_id] = "confirmed"
    return ([(plot, family, states.get(family.id, "no_agreement"), alerts.get(plot.id, ""))
             for plot, family in plots], places)
