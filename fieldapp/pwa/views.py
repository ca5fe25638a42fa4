"""PWA routes: the service worker, the manifest, the offline page, the outbox and scan pages,
the reachability probe and the offline reference data."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, jsonify, render_template, request, url_for
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from fieldapp.auth.access import public, scoped_community_ids
from fieldapp.forms import int_arg
from fieldapp.pwa import bp
from fieldapp.pwa.queries import DATASETS, PAGE_SIZE, dataset_page, dataset_stamp
from fieldapp.pwa.shell import SW_SOURCE, field_pages, precache_urls, shell_version

#: Header telling the service worker whose page a response is ("" when nobody is logged in).
USER_HEADER = "X-Fieldapp-User"
#: Header telling the service worker not to store a page (it shows a one-time message).
TRANSIENT_HEADER = "X-Fieldapp-Transient"


@bp.after_app_request
def mark_page_owner(response: Response) -> Response:
    """Say whose page an HTML response is, so the service worker caches it for that user only;
    a page showing flashed messages ("Family registered.") is not stored at all."""
    if response.mimetype == "text/html":
        response.headers[USER_HEADER] = (
            current_user.username if current_user and current_user.is_authenticated else ""
        )
        if request_ctx.flashes:
            response.headers[TRANSIENT_HEADER] = "1"
    return response


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sw.js")
@public
def service_worker():
    """The service worker, versioned from the content of the app shell."""
    config = {
        "version": shell_version(),
        "precache": precache_urls(),
        "offline": url_for("pwa.offline"),
        "logout": url_for("auth.logout"),
        "login": url_for("auth.login"),
        "ping": url_for("pwa.ping"),
        "scripts": [url_for("static", filename="js/outbox-core.js"),
                    url_for("static", filename="js/offline-data.js")],
        "probeTimeoutMs": int(current_app.config["PWA_PROBE_TIMEOUT_MS"]),
        "sendTimeoutMs": int(current_app.config["PWA_SEND_TIMEOUT_MS"]),
        "networkTimeoutMs": int(current_app.config["PWA_NETWORK_TIMEOUT_MS"]),
        "noCache": ["/auth/", "/sync/", "/api/", "/pwa/data/", url_for("pwa.ping"),
                    url_for("pwa.pages"), url_for("pwa.worklist")],
    }
    source = (Path(current_app.static_folder or "") / SW_SOURCE).read_text(encoding="utf-8")
    body = f"self.FIELDAPP = {json.dumps(config, separators=(',', ':'))};\n{source}"
    response = Response(body, mimetype="application/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest: name, icons, start URL, standalone display, Spanish."""
    def icon(name: str, size: int, purpose: str) -> dict[str, str]:
        return {
            "src": url_for("static", filename=f"icons/{name}"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }

    body = {
        "id": "/",
        "name": "fieldapp · Acuerdos de Conservación Alto Mayo",
        "short_name": "fieldapp",
        "description": (
            "Registro de familias, acuerdos, entregas, asistencia y visitas, sin conexión."
        ),
        "lang": "es",
        "dir": "ltr",
        "start_url": url_for("main.index"),
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": "#1f5f3a",
        "background_color": "#f6f8f7",
        "categories": ["productivity", "utilities"],
        "icons": [
            icon("icon-192.png", 192, "any"),
            icon("icon-512.png", 512, "any"),
            icon("maskable-192.png", 192, "maskable"),
            icon("maskable-512.png", 512, "maskable"),
        ],
    }
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
@public
def offline():
    """The page shown for a page this tablet has not stored (no personal data in it)."""
    return render_template("pwa/offline.html", config_endpoints=set(current_app.view_functions))


@bp.route("/pwa/ping")
@public
def ping():
    """Reachability probe: who is logged in, and a fresh CSRF token to replay the outbox with."""
    user = current_user.username if current_user.is_authenticated else None
    body: dict[str, Any] = {"ok": True, "user": user, "version": shell_version()}
    if user:
        body["csrf"] = generate_csrf()
    return _no_store(jsonify(body))


@bp.route("/pwa/outbox")
def outbox():
    """Forms saved on this tablet and waiting to be sent, rejected ones, and recently sent."""
    return render_template("pwa/outbox.html")


@bp.route("/pwa/scan")
def scan():
    """Scan a family's QR card with the camera, or type its code."""
    return render_template("pwa/scan.html")


@bp.route("/pwa/pages")
def pages():
    """The pages this user needs with no connection (the tablet stores them after login)."""
    return _no_store(jsonify(user=current_user.username, pages=field_pages()))


@bp.route("/pwa/data/")
def data_index():
    """The offline datasets of the user's scope, with a stamp each (refetch when it changes)."""
    scope = scoped_community_ids()
    datasets = {name: dataset_stamp(name, scope) for name in DATASETS}
    return _no_store(jsonify(user=current_user.username, datasets=datasets))


@bp.route("/pwa/data/<name>")
def data_page(name: str):
    """One page of an offline dataset (columns and rows), after the id given in ``after``."""
    if name not in DATASETS:
        abort(404)
    after_arg = request.args.get("after")
    try:
        after = uuid.UUID(after_arg) if after_arg else None
    except ValueError:
        from fieldapp.errors import ValidationFailed

        raise ValidationFailed(_("The page cursor is not valid.")) from None
    limit = int_arg("limit", PAGE_SIZE, 1, PAGE_SIZE)
    body = dataset_page(name, scoped_community_ids(), after, limit)
    return _no_store(jsonify(body))


@bp.route("/pwa/worklist")
def worklist():
    """The user's worklist as the tablet stores it for offline work (grouped by community)."""
    from fieldapp.pwa.worklist import worklist as gather
    from fieldapp.pwa.worklist import worklist_json

    body = worklist_json(gather(scoped_community_ids()))
    return _no_store(jsonify(user=current_user.username, **body))
