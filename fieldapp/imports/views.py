"""Upload a register, see every row's verdict, confirm: the families are registered."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.auth.access import role_required
from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.imports import bp
from fieldapp.imports.columns import FIELDS, IGNORE
from fieldapp.imports.operations import import_families
from fieldapp.imports.preview import Preview, preview_file
from fieldapp.imports.reading import ImportRefused

KEEP_SECONDS = 24 * 3600  # an upload not imported within a day is deleted


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _upload(token: str) -> Path:
    """The upload ``token`` names, if this session made it."""
    if not re.fullmatch(r"[0-9a-f]{32}", token) or token not in session.get("imports", []):
        abort(404)
    path = _folder() / f"{token}.upload"
    if not path.exists():
        abort(404)
    return path


def _clean_old() -> None:
    now = time.time()
    for path in _folder().glob("*.upload"):
        if now - path.stat().st_mtime > KEEP_SECONDS:
            path.unlink(missing_ok=True)


def _receive(kind: str, preview_endpoint: str):
    """The upload form of ``kind`` (``families`` or ``agreements``); a file sent is kept for
    this session under a token, and its preview follows."""
    if request.method == "POST":
        file = request.files.get("file")
        if file is None or not file.filename:
            flash(_("Choose a file."), "error")
            return render_template("imports/upload.html", kind=kind), 422
        _clean_old()
        token = secrets.token_hex(16)
        file.save(_folder() / f"{token}.upload")
        session["imports"] = [*session.get("imports", [])[-4:], token]
        return redirect(url_for(preview_endpoint, token=token))
    return render_template("imports/upload.html", kind=kind)


@bp.route("/", methods=["GET", "POST"])
@role_required("coordinator")
def upload():
    """Choose a register (CSV or XLSX) to import."""
    return _receive("families", ".preview")


@bp.route("/agreements", methods=["GET", "POST"])
@role_required("coordinator")
def agreements_upload():
    """Choose a list of agreements signed on paper (CSV or XLSX) to import."""
    return _receive("agreements", ".agreements_preview")


@bp.route("/agreements/<token>", methods=["GET", "POST"])
@role_required("coordinator")
def agreements_preview(token: str):
    """Every row's verdict (each new row tried by the agreements' rules); confirm to import."""
    from fieldapp.imports import agreements as paper

    path = _upload(token)
    mapping, _confirmed, _duplicates = _choices()
    if request.method == "POST" and request.form.get("action") == "import":
        try:
            _preview, done = paper.import_agreements(path, mapping, current_user)
            db.session.commit()
        except AppError as error:
            db.session.rollback()
            flash(_("Nothing was imported: %(reason)s", reason=error.message), "error")
        else:
            path.unlink(missing_ok=True)
            flash(_("%(count)s agreements signed on paper imported.", count=done["created"]),
                  "success")
            return redirect(url_for("families.index"))
    try:
        result = paper.preview_agreements(path, mapping, current_user)
    except ImportRefused as error:
        if "headers" not in error.details:
            return render_template("imports/upload.html", kind="agreements",
                                   refused=error.message), 422
        result = Preview(error.details["headers"], error.details["mapping"], 0)
        return render_template("imports/agreements_preview.html", preview=result, token=token,
                               fields=paper.FIELDS, refused=error.message), 422
    return render_template("imports/agreements_preview.html", preview=result, token=token,
                           fields=paper.FIELDS)


def _choices() -> tuple[list[str] | None, set[str], bool]:
    form = request.form
    mapping = None
    if any(k.startswith("map-") for k in form):
        count = sum(1 for k in form if k.startswith("map-"))
        mapping = [form.get(f"map-{i}", IGNORE) for i in range(count)]
    return mapping, set(form.getlist("community")), bool(form.get("include_duplicates"))


@bp.route("/<token>", methods=["GET", "POST"])
@role_required("coordinator")
def preview(token: str):
    """Every row's verdict; the columns' fields and the new communities to confirm."""
    path = _upload(token)
    mapping, confirmed, duplicates = _choices()
    if request.method == "POST" and request.form.get("action") == "import":
        try:
            _preview, done = import_families(path, mapping, confirmed, duplicates)
            db.session.commit()
        except AppError as error:
            db.session.rollback()
            flash(_("Nothing was imported: %(reason)s", reason=error.message), "error")
        else:
            path.unlink(missing_ok=True)
            flash(_("%(families)s families and %(communities)s communities imported.",
                    families=done["created"], communities=done["communities"]), "success")
            return redirect(url_for("families.index"))
    try:
        result = preview_file(path, mapping, confirmed)
    except ImportRefused as error:
        if "headers" not in error.details:  # the file itself: choose another
            return render_template("imports/upload.html", kind="families",
                                   refused=error.message), 422
        # The columns as read: the coordinator says which field each holds.
        result = Preview(error.details["headers"], error.details["mapping"], 0)
        return render_template("imports/preview.html", preview=result, token=token,
                               fields=FIELDS, confirmed=confirmed, refused=error.message,
                               include_duplicates=duplicates), 422
    return render_template("imports/preview.html", preview=result, token=token, fields=FIELDS,
                           confirmed=confirmed, include_duplicates=duplicates)
