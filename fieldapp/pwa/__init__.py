"""The tablet PWA: service worker, manifest, offline page, outbox page, offline reference data."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pwa", __name__)

#: Pages a field worker needs with no connection, cached for the logged-in user after login.
#: Endpoints that take no URL arguments; the ones this installation lacks are skipped. The
#: create forms among them choose the family on the page, from the tablet's stored data.
#: Record-specific pages (sessions to take attendance in, drafts to sign) are added by
#: :func:`fieldapp.pwa.shell.field_pages`.
FIELD_PAGES: list[str] = [
    "main.index",
    "families.index",
    "families.create",
    "agreements.create",
    "agreements.sign_offline",
    "communities.index",
    "deliveries.index",
    "deliveries.create",
    "compliance.visits",
    "compliance.create_visit",
    "trainings.index",
    "grievances.index",
    "grievances.create",
    "plots.create",
    "plots.plot_map",
    "plots.alerts",
    "pwa.outbox",
    "pwa.scan",
]
#: Pages of the navigation only some roles see (templates/base.html), stored for them too:
#: every page in a user's navigation opens with no connection.
ROLE_PAGES: dict[str, list[str]] = {
    "coordinator": ["compliance.sanctions", "dashboard.index"],
}

from fieldapp.pwa import client, views  # noqa: E402,F401  (routes register on import)
