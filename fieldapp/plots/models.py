"""Plots (a family's pieces of land, with their boundaries) and each boundary version kept."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.checks import one_of
from fieldapp.families.models import Family
from fieldapp.models import Base, SyncedMixin, utcnow

#: How a boundary was captured: walked with the GPS, corners tapped on the sketch, or pasted
#: or uploaded as GeoJSON.
CAPTURE_METHODS = ("walk", "vertices", "geojson")


class Plot(SyncedMixin, Base):
    """A piece of a family's land: its name, declared hectares and current boundary.

    The boundary is a GeoJSON polygon (WGS84, longitude first); ``area_ha`` is its geodesic
    area. Each boundary it has had is a :class:`PlotBoundary` row (append-only): a re-walk never
    overwrites the one before, and two re-walks made offline on two nodes are both kept (the
    plot's own columns then conflict on central, for a coordinator).
    """

    __tablename__ = "plots"
    __table_args__ = (
        CheckConstraint("declared_ha IS NULL OR declared_ha >= 0", name="declared_ha"),
        CheckConstraint("area_ha IS NULL OR area_ha >= 0", name="area_ha"),
        CheckConstraint("method IS NULL OR " + one_of("method", CAPTURE_METHODS), name="method"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    declared_ha: Mapped[float | None]
    #: The current boundary (``None`` until it is walked or drawn).
    boundary: Mapped[dict[str, Any] | None]
    #: The GPS accuracy (metres) of each point as captured (``None``: not from the GPS).
    accuracies: Mapped[list[Any] | None]
    area_ha: Mapped[float | None]
    method: Mapped[str | None] = mapped_column(String(12))
    #: The measured area and the declared hectares differ by more than PLOT_AREA_TOLERANCE.
    area_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: What was repaired in the boundary as it was captured (said to the person who saved it).
    repair_note: Mapped[str | None] = mapped_column(Text)
    #: The number of the current boundary version (0: none yet).
    boundary_version: Mapped[int] = mapped_column(default=0, server_default="0")
    notes: Mapped[str | None] = mapped_column(Text)

    family: Mapped[Family] = relationship()
    boundaries: Mapped[list[PlotBoundary]] = relationship(
        back_populates="plot", order_by="PlotBoundary.number")


class PlotBoundary(SyncedMixin, Base):
    """One boundary a plot had (append-only): the polygon, accuracies, area, who captured it."""

    __tablename__ = "plot_boundaries"
    __table_args__ = (
        UniqueConstraint("plot_id", "number", "origin_node"),
        CheckConstraint(one_of("method", CAPTURE_METHODS), name="method"),
    )

    plot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plots.id"))
    #: The version's number on the node that captured it (two nodes may both make a "3").
    number: Mapped[int]
    boundary: Mapped[dict[str, Any]]
    accuracies: Mapped[list[Any] | None]
    area_ha: Mapped[float]
    method: Mapped[str] = mapped_column(String(12))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    repair_note: Mapped[str | None] = mapped_column(Text)

    plot: Mapped[Plot] = relationship(back_populates="boundaries")


#: How a compliance visit answers an alert.
ALERT_ANSWERS = ("confirmed", "false_alarm", "outside")
VERIFICATION_STATUSES = ("open", "answered")


class Alert(Base):
    """A deforestation alert imported on central (GLAD-L, GLAD-S2, RADD...): a point or a
    polygon, its date and confidence. Central's own (not synced): what reaches the field is the
    :class:`AlertCheck` made for a plot under agreement. ``key`` is its natural key (source,
    date and shape), so importing the same file again adds nothing."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    detected_on: Mapped[date]
    confidence: Mapped[str | None] = mapped_column(String(20))
    #: A GeoJSON Point or Polygon (WGS84).
    geometry: Mapped[dict[str, Any]]
    lon: Mapped[float]
    lat: Mapped[float]
    area_ha: Mapped[float | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    file_name: Mapped[str | None] = mapped_column(String(200))


class AlertCheck(SyncedMixin, Base):
    """An alert to verify: an alert after the agreement's signing on a plot under agreement,
    assigned to the plot's community (synced to its nodes and tablets). A compliance visit
    answers it: clearing confirmed (with its area), a false alarm, or clearing outside the plot.
    """

    __tablename__ = "alert_checks"
    __table_args__ = (
        UniqueConstraint("alert_key", "plot_id"),
        CheckConstraint("answer IS NULL OR " + one_of("answer", ALERT_ANSWERS), name="answer"),
        CheckConstraint(one_of("status", VERIFICATION_STATUSES), name="status"),
        CheckConstraint("cleared_ha IS NULL OR cleared_ha >= 0", name="cleared_ha"),
        Index("ix_alert_checks_community_status", "community_id", "status"),
    )

    alert_key: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"))
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    plot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plots.id"), index=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id"))
    source: Mapped[str] = mapped_column(String(40))
    detected_on: Mapped[date]
    confidence: Mapped[str | None] = mapped_column(String(20))
    geometry: Mapped[dict[str, Any]]
    lon: Mapped[float]
    lat: Mapped[float]
    #: Metres from the plot's boundary (0: inside).
    distance_m: Mapped[float] = mapped_column(default=0.0)
    status: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    answer: Mapped[str | None] = mapped_column(String(12))
    cleared_ha: Mapped[float | None]
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("compliance_visits.id"))
    answered_on: Mapped[date | None]
    answered_by: Mapped[str | None] = mapped_column(String(64))

    plot: Mapped[Plot] = relationship()
    family: Mapped[Family] = relationship()
