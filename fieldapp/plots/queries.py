"""Reading plots: a family's, one with its history, and those of the user's communities."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from fieldapp.auth.access import check_community_scope
from fieldapp.errors import NotFound
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.plots.models import Plot, PlotBoundary


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
