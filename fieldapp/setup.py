"""Wiring called by :func:`fieldapp.create_app`: extensions, blueprints, database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from fieldapp import checkpoints, collation
from fieldapp.locations import MIGRATIONS_DIR

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_extensions(app: Flask) -> None:
    """Initialise the extensions, security headers, error pages and template helpers."""
    from fieldapp import i18n
    from fieldapp.errors import register_error_handlers, wants_json
    from fieldapp.extensions import csrf, db, login_manager, migrate
    from fieldapp.forms import AppRequest, BoundedIntConverter

    app.request_class = AppRequest  # query and form fields without NUL
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id: str) -> Any:
        """The user of a session or remember cookie (``<id>:<token>``, see ``User.get_id``),
        or ``None`` when the token was replaced (logout, password change, deactivation)."""
        import uuid

        from fieldapp.auth.models import User

        user_id, _, token = session_id.partition(":")
        try:
            user = db.session.get(User, uuid.UUID(user_id))
        except ValueError:
            return None
        return user if user is not None and token and user.holds_session(token) else None

    @login_manager.unauthorized_handler
    def unauthorized() -> Any:
        if wants_json():
            response = jsonify(error={"code": "login_required",
                                      "message": str(_l("Please log in to continue."))})
            response.status_code = 401
            return response
        from flask import flash

        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "geolocation=(self), camera=(self)"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    register_error_handlers(app)

    from fieldapp import monitoring

    monitoring.init_app(app)  # request ids, the request log, metrics

    from fieldapp import templating

    templating.init_app(app)

    from fieldapp.nodes import syncing

    syncing.init_app(app)  # the sync engine learns fieldapp's tables (like an extension)


def register_blueprints(app: Flask) -> None:
    """Register every domain's blueprint and the login gate that guards them."""
    from fieldapp.admin import bp as admin_bp
    from fieldapp.api import bp as api_bp
    from fieldapp.api import tokens_bp as api_tokens_bp
    from fieldapp.audit.readable import register_record_names
    from fieldapp.auth import bp as auth_bp
    from fieldapp.auth.access import install_login_gate
    from fieldapp.communities import bp as communities_bp
    from fieldapp.dashboard import bp as dashboard_bp
    from fieldapp.families import bp as families_bp
    from fieldapp.imports import bp as imports_bp
    from fieldapp.main import bp as main_bp
    from fieldapp.merges import bp as merges_bp
    from fieldapp.monitoring import bp as monitoring_bp
    from fieldapp.nodes import bp as nodes_bp
    from fieldapp.printing import bp as printing_bp
    from fieldapp.printing import verify_bp
    from fieldapp.pwa import bp as pwa_bp

    register_record_names(app, audit_record_names)
    blueprints = (main_bp, auth_bp, admin_bp, communities_bp, families_bp, merges_bp,
                  printing_bp, verify_bp, pwa_bp, dashboard_bp, nodes_bp, monitoring_bp, api_bp,
                  api_tokens_bp, imports_bp)
    for bp in blueprints:
        app.register_blueprint(bp)
    register_cycle_blueprints(app)
    install_login_gate(app)

    from fieldapp import cli

    cli.init_app(app)


def register_cycle_blueprints(app: Flask) -> None:
    """The agreement cycle: agreements, trainings, deliveries, compliance, audit history,
    grievances, plots and alerts, and their photos and scans."""
    from fieldapp.agreements import bp as agreements_bp
    from fieldapp.audit import bp as audit_bp
    from fieldapp.compliance import bp as compliance_bp
    from fieldapp.deliveries import bp as deliveries_bp
    from fieldapp.grievances import bp as grievances_bp
    from fieldapp.grievances import status_bp as grievance_status_bp
    from fieldapp.media import bp as media_bp
    from fieldapp.plots import bp as plots_bp
    from fieldapp.trainings import bp as trainings_bp

    for bp in (agreements_bp, trainings_bp, deliveries_bp, compliance_bp, audit_bp,
               grievances_bp, grievance_status_bp, media_bp, plots_bp):
        app.register_blueprint(bp)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it is answered. With NORMAL, WAL's commits reach the
    # disk only at the next checkpoint: a power cut could take back a save the tablet was
    # told had succeeded (and had dropped from its own queue), or a page central acknowledged.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    collation.register_sqlite(dbapi_connection)  # ORDER BY spanish(name): Chávez, Chuquizuta


def init_database(app: Flask) -> None:
    """Set SQLite pragmas on the app's engine, upgrade the schema when configured, and check
    that the database was set up for the configured role."""
    from fieldapp.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            checkpoints.init_app(app, engine)
        elif engine.dialect.name == "postgresql":
            collation.detect_postgresql(engine)
    from fieldapp.installation import check_role

    # The workers of one server start together: one at a time they migrate (the next finds the
    # schema current) and record the role, instead of each creating the same tables at once.
    with first_start_lock(app):
        if app.config.get("AUTO_MIGRATE"):
            from flask_migrate import upgrade

            with app.app_context():
                upgrade(directory=str(MIGRATIONS_DIR))
        check_role(app)  # a field process must not write into central's database, nor the reverse


@contextmanager
def first_start_lock(app: Flask) -> Iterator[None]:
    """An exclusive lock on ``<instance>/.start.lock`` held by one process of this installation
    at a time (PostgreSQL's migrations also take an advisory lock, for servers on other
    machines: ``migrations/env.py``)."""
    import fcntl
    import os

    path = Path(app.instance_path) / ".start.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def audit_record_names(locale: str) -> dict[str, tuple[Any, Any]]:
    """How the history pages name a record each reference column points at (registered with
    :func:`fieldapp.audit.readable.register_record_names`: the app factory knows every domain,
    the audit log none)."""
    from fieldapp.agreements.models import Agreement, BenefitType, CommitmentType
    from fieldapp.auth.models import User
    from fieldapp.communities.models import Community
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family
    from fieldapp.nodes.models import Node
    from fieldapp.trainings.models import TrainingSession

    family = (Family, lambda f: f"{f.head_name} ({f.code})")
    agreement = (Agreement, lambda a: a.number)
    user = (User, lambda u: u.full_name)
    delivery = (Delivery, lambda d: d.code)
    return {
        "family_id": family, "merged_into_id": family, "agreement_id": agreement,
        "supersedes_id": agreement,
        "community_id": (Community, lambda c: c.name),
        "visit_id": (ComplianceVisit, lambda v: v.code),
        "delivery_id": delivery, "reverses_id": delivery, "suspected_duplicate_of_id": delivery,
        "session_id": (TrainingSession, lambda s: s.code),
        "benefit_type_id": (BenefitType, lambda b: b.name(locale)),
        "commitment_type_id": (CommitmentType, lambda c: c.text(locale)),
        "created_by_id": user, "monitor_id": user, "decided_by_id": user,
        "delivered_by_id": user, "trainer_id": user,
        "node_id": (Node, lambda n: n.code),
    }
