"""The app shell the service worker precaches, and its version (a digest of its content).

The version changes whenever a static asset, the service worker's source or the offline page's
template changes, so a deployment with new assets installs a new service worker and only then.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, url_for
from werkzeug.routing import BuildError

#: The service worker's source; served at ``/sw.js`` with its configuration prepended.
SW_SOURCE = "js/sw.js"
#: Files the service worker never precaches (its own source; editor leftovers).
_SKIP_SUFFIXES = (".map", "~", ".swp")


def static_assets(app: Flask) -> list[str]:
    """Paths (relative to the static folder, ``/``-separated) of every precached asset."""
    root = Path(app.static_folder or "")
    paths = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel == SW_SOURCE or rel.endswith(_SKIP_SUFFIXES):
            continue
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        paths.append(rel)
    return paths


def _digest(app: Flask) -> str:
    root = Path(app.static_folder or "")
    template_root = Path(app.template_folder or "")
    digest = hashlib.sha256()
    files = [root / rel for rel in static_assets(app)] + [
        root / SW_SOURCE,
        template_root / "pwa/offline.html",
    ]
    for path in files:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update(str(app.config["PWA_VERSION_SALT"]).encode())
    return digest.hexdigest()[:16]


def shell_version() -> str:
    """The current shell's version: computed once per process (every request in debug mode)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get("pwa_version")
    if cached is None or app.debug or cached[0] != app.config["PWA_VERSION_SALT"]:
        cached = (app.config["PWA_VERSION_SALT"], _digest(app))
        app.extensions["pwa_version"] = cached
    return cached[1]


def precache_urls() -> list[str]:
    """URLs the service worker stores at install: static assets, offline page and manifest."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    urls = [url_for("static", filename=rel) for rel in static_assets(app)]
    return [*urls, url_for("pwa.offline"), url_for("pwa.manifest")]


#: Record pages stored for the field: training sessions from this many days ago to this many
#: days ahead (attendance), and at most this many of each kind.
SESSION_DAYS_BACK = 30
SESSION_DAYS_AHEAD = 30
RECORD_PAGES_LIMIT = 40


def _record_pages() -> list[str]:
    """Attendance sheets of recent and coming sessions, sign pages of drafts and the alerts to
    verify, in scope."""
    from sqlalchemy import select

    from fieldapp.agreements.models import Agreement
    from fieldapp.auth.access import scoped_community_ids
    from fieldapp.extensions import db
    from fieldapp.families.models import Family
    from fieldapp.submissions import local_today
    from fieldapp.trainings.models import TrainingSession

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scope = scoped_community_ids()
    urls: list[str] = []
    if "trainings.detail" in app.view_functions:
        today = local_today()
        stmt = (
            select(TrainingSession.id)
            .where(TrainingSession.voided.is_(False))
            .where(TrainingSession.held_on >= today - timedelta(days=SESSION_DAYS_BACK))
            .where(TrainingSession.held_on <= today + timedelta(days=SESSION_DAYS_AHEAD))
            .order_by(TrainingSession.held_on.desc())
            .limit(RECORD_PAGES_LIMIT)
        )
        if scope is not None:
            stmt = stmt.where(TrainingSession.community_id.in_(scope))
        urls += [url_for("trainings.detail", session_id=i) for i in db.session.scalars(stmt)]
    if "agreements.sign" in app.view_functions:
        stmt = (
            select(Agreement.id)
            .join(Family, Family.id == Agreement.family_id)
            .where(Agreement.voided.is_(False), Agreement.status == "draft")
            .order_by(Agreement.updated_at.desc())
            .limit(RECORD_PAGES_LIMIT)
        )
        if scope is not None:
            stmt = stmt.where(Family.community_id.in_(scope))
        urls += [url_for("agreements.sign", agreement_id=i) for i in db.session.scalars(stmt)]
    if "plots.alert" in app.view_functions:  # the alerts to verify, answered on the spot
        from fieldapp.plots.models import AlertCheck

        stmt = (select(AlertCheck.id)
                .where(AlertCheck.voided.is_(False), AlertCheck.status == "open")
                .order_by(AlertCheck.detected_on).limit(RECORD_PAGES_LIMIT))
        if scope is not None:
            stmt = stmt.where(AlertCheck.community_id.in_(scope))
        urls += [url_for("plots.alert", check_id=i) for i in db.session.scalars(stmt)]
    return urls


def field_pages() -> list[str]:
    """URLs of the pages the logged-in user needs offline: :data:`fieldapp.pwa.FIELD_PAGES`
    this installation has, then the record pages of the user's scope."""
    from flask_login import current_user

    from fieldapp.pwa import FIELD_PAGES, ROLE_PAGES

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    endpoints = list(FIELD_PAGES)
    for role, more in ROLE_PAGES.items():
        if current_user.is_authenticated and current_user.has_role(role):
            endpoints += more
    urls = []
    for endpoint in endpoints:
        if endpoint not in app.view_functions:
            continue
        try:
            urls.append(url_for(endpoint))
        except BuildError:  # an endpoint that needs arguments cannot be cached blind
            continue
    return urls + _record_pages()
