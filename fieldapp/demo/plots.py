"""The demo's plots: one boundary per family, around its plot location, of about its declared
hectares; on central also a few deforestation alerts on plots under agreement, so that the map
and the worklist have something to show.

:func:`plot_ring` is also the shape ``benchmarks/geo.py`` gives a family without a plot.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

from flask import current_app

from fieldapp.demo.base import DEMO_TODAY, GeneratorBase, bulk
from fieldapp.plots.geometry import check_boundary, differs
from fieldapp.plots.models import Plot, PlotBoundary
from fieldapp.plots.operations import area_tolerance

#: Metres per degree of latitude (mean).
METRES_PER_DEGREE = 111_320.0
#: Alerts made on central: one per this many plots under agreement (at least one).
ALERT_EVERY = 60


def plot_ring(lon: float, lat: float, hectares: float,
              rng: random.Random) -> list[list[float]]:
    """A plausible plot of about ``hectares`` around (``lon``, ``lat``): four to seven corners at
    irregular angles and distances from it, turned at random (closed, counter-clockwise).

    Every corner is seen from the centre (a star around it), so the ring never crosses itself
    and the centre lies inside.
    """
    corners = rng.randint(4, 7)
    step = 2 * math.pi / corners
    # The radius of the regular polygon of that area, each corner 15 % nearer or further.
    radius = math.sqrt(2 * max(hectares, 0.2) * 10_000 / (corners * math.sin(step)))
    turn = rng.uniform(0, step)
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat))
    ring = []
    for n in range(corners):
        angle = turn + n * step + rng.uniform(-0.25, 0.25) * step
        distance = radius * rng.uniform(0.85, 1.15)
        ring.append([round(lon + distance * math.cos(angle) / kx, 7),
                     round(lat + distance * math.sin(angle) / METRES_PER_DEGREE, 7)])
    return [*ring, ring[0]]


class PlotPhases(GeneratorBase):
    """The plots phase (after the families and their agreements)."""

    family_rows: list[dict[str, Any]]
    current_agreements: list[dict[str, Any]]

    def plots(self) -> None:
        # A generator of their own: the rest of the program stays what it was for a seed.
        self.plot_rng = random.Random(f"plots-{self.seed}")
        plots, boundaries, self.plot_centres = [], [], []
        tolerance = area_tolerance()
        for family in self.family_rows:
            if family["lat"] is None or family["lon"] is None:
                continue
            checked = check_boundary(plot_ring(family["lon"], family["lat"],
                                               family["plot_ha"] or 2.0, self.plot_rng))
            row = self.base(family["created_at"]) | {
                "family_id": family["id"], "name": family["plot_name"] or "Chacra",
                "declared_ha": family["plot_ha"], "boundary": checked.geojson,
                "accuracies": None, "area_ha": checked.area_ha, "method": "vertices",
                "area_review": differs(checked.area_ha, family["plot_ha"], tolerance),
                "repair_note": None, "boundary_version": 1, "notes": None,
            }
            plots.append(row)
            boundaries.append(self.base(family["created_at"]) | {
                "plot_id": row["id"], "number": 1, "boundary": checked.geojson,
                "accuracies": None, "area_ha": checked.area_ha, "method": "vertices",
                "recorded_by": "promotor", "repair_note": None,
            })
            self.plot_centres.append((family["id"], family["lon"], family["lat"]))
        bulk(Plot, plots)
        bulk(PlotBoundary, boundaries)
        self.count("plots", len(plots))

    def alerts(self) -> None:
        """On central, a few alert points inside plots of families under agreement, imported
        as a coordinator imports a platform's file (field nodes receive the alerts to verify)."""
        if current_app.config.get("ROLE") != "central":
            return
        from fieldapp.plots.alerts import import_alerts

        under = {a["family_id"] for a in self.current_agreements
                 if a["status"] in ("signed", "active")}
        centres = [(lon, lat) for family_id, lon, lat in self.plot_centres if family_id in under]
        lines = ["latitude,longitude,date,confidence"]
        rng = self.plot_rng
        for lon, lat in rng.sample(centres, min(len(centres), max(1, len(centres) // ALERT_EVERY))):
            day = DEMO_TODAY - timedelta(days=rng.randint(5, 80))
            lines.append(f"{lat:.6f},{lon:.6f},{day},{rng.choice(('high', 'highest'))}")
        report = import_alerts(("\n".join(lines) + "\n").encode(), "demo-glad.csv", "GLAD-L")
        self.count("alerts", report.new)
        self.count("alerts_to_verify", report.checks)
