"""The tablet PWA: service worker, manifest, offline page, outbox page, offline reference data."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pwa", __name__)

#: Pages a field worker needs with no connection, cached for the logged-in user after login.
#: Endpoints that take no URL arguments; the ones this installation lacks are skipped.
FIELD_PAGES: list[str] = [
    "main.index",
    "families.index",
    "families.create",
    "pwa.outbox",
    "pwa.scan",
    "deliveries.create",
    "trainings.attendance_new",
    "compliance.create",
]

from fieldapp.pwa import client, views  # noqa: E402,F401  (routes register on import)
