"""Node registration, the sync dashboard, conflicts and quarantine (central); sync status and
"Sync now" (field node)."""

from __future__ import annotations

import threading
import uuid

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.auth.access import central_only, role_required
from fieldapp.errors import AppError, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.queries import active_communities
from fieldapp.instance import CODE_ALPHABET
from fieldapp.nodes import bp, queries
from fieldapp.nodes.forms import EmptyForm, NodeForm, ResolveForm
from fieldapp.nodes.messages import plain_error, plain_refusal
from fieldapp.nodes.models import Node
from fieldapp.nodes.operations import (
    issue_enrolment_code,
    register_node,
    resolve_conflict,
    revoke_node,
    suggest_node_code,
)


def _field_only() -> None:
    if current_app.config["ROLE"] != "field":
        abort(404)


# -- central ---------------------------------------------------------------------------------
@bp.route("/")
@central_only
@role_required("coordinator")
def dashboard():
    """Every node: last contact and success, versions, pending, errors, conflicts, quarantine."""
    rows = queries.dashboard_rows()
    return render_template("nodes/dashboard.html", rows=rows, form=EmptyForm(),
                           open_conflicts=queries.open_conflict_count(),
                           plain_error=plain_error)


@bp.route("/<uuid:node_id>")
@central_only
@role_required("coordinator")
def detail(node_id: uuid.UUID):
    """A node's facts, its sync log and the records central refused from it."""
    node = db.get_or_404(Node, node_id)
    return render_template("nodes/detail.html", node=node, log=queries.node_log(node.id),
                           refused=queries.central_quarantine(node.id),
                           plain_refusal=plain_refusal, form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@central_only
@role_required("admin")
def create():
    """Register a field node and show its one-time enrolment code."""
    form = NodeForm()
    form.communities.choices = [(str(c.id), c.name) for c in active_communities()]
    if request.method == "GET":
        form.code.data = suggest_node_code()  # a proposal from the vowel-free alphabet
    if form.validate_on_submit():
        try:
            node, code = register_node(form.name.data, form.code.data.upper(),
                                       form.communities.data, form.all_communities.data)
        except ValidationFailed as error:
            db.session.rollback()
            target = getattr(form, error.details.get("field", ""), None) or form.name
            target.errors = [*target.errors, str(error.message)]
        else:
            db.session.commit()
            return render_template("nodes/enrolment_code.html", node=node, code=code)
    return render_template("nodes/form.html", form=form, code_alphabet=CODE_ALPHABET), (
        422 if form.errors else 200)


@bp.post("/<uuid:node_id>/code")
@central_only
@role_required("admin")
def new_code(node_id: uuid.UUID):
    """Make a new one-time enrolment code (e.g. the node was reinstalled)."""
    node = db.get_or_404(Node, node_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    code = issue_enrolment_code(node)
    db.session.commit()
    return render_template("nodes/enrolment_code.html", node=node, code=code)


@bp.post("/<uuid:node_id>/revoke")
@central_only
@role_required("admin")
def revoke(node_id: uuid.UUID):
    """Revoke a node: central refuses it from now on (its own changes stay on it)."""
    node = db.get_or_404(Node, node_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    revoke_node(node)
    db.session.commit()
    flash(_("Node %(code)s revoked: central refuses it from now on.", code=node.code),
          "success")
    return redirect(url_for("nodes.detail", node_id=node.id))


@bp.route("/conflicts")
@central_only
@role_required("coordinator")
def conflicts():
    """Open conflicts, and the latest resolved ones."""
    open_rows = queries.conflicts("open")
    return render_template("nodes/conflicts.html", open=open_rows,
                           resolved=queries.conflicts("resolved", limit=30),
                           codes=queries.node_codes(),
                           families=queries.conflict_families(open_rows))


def _choices(conflict) -> list[tuple[str, str]]:
    if conflict.kind == "field":
        return [("central", _("Keep central's value")), ("node", _("Take the node's value")),
                ("other", _("Write a combined value"))]
    if conflict.kind == "amendment":
        return [("this", _("This version stands")), ("that", _("The other version stands")),
                ("both", _("Both stand (not a conflict)"))]
    if conflict.kind == "duplicate_dni":
        return [("different", _("Different families: correct the wrong DNI on its page")),
                ("same", _("The same family registered twice: void one on its page"))]
    return [("not_double", _("Not a double: both deliveries happened")),
            ("double", _("A double: record a reversal of this one"))]


@bp.route("/conflicts/<int:conflict_id>", methods=["GET", "POST"])
@central_only
@role_required("coordinator")
def conflict(conflict_id: int):
    """Both sides of a conflict; choose or combine (the result syncs back to the nodes)."""
    found = queries.conflict(conflict_id)
    if found is None:
        abort(404)
    form = ResolveForm()
    form.choice.choices = _choices(found)
    if found.status == "open" and form.validate_on_submit():
        if form.choice.data == "other" and not (form.value.data or "").strip():
            form.value.errors = [_("Write the value to keep.")]
        else:
            try:
                resolve_conflict(found.id, form.choice.data, form.value.data,
                                 current_user.username, current_user)
            except AppError as error:  # a refused reversal too, shown next to the choice
                db.session.rollback()
                target = getattr(form, error.details.get("field", ""), None) or form.choice
                target.errors = [*target.errors, str(error.message)]
            else:
                db.session.commit()
                flash(_("Conflict resolved; the nodes receive the result at their next sync."),
                      "success")
                return redirect(url_for("nodes.conflicts"))
    state = current_app.extensions["sync"]
    spec = state.registry.get(found.table_name)
    record = db.session.get(spec.model, found.row_id) if spec else None
    other = db.session.get(spec.model, found.other_row_id) if spec and found.other_row_id else None
    return render_template("nodes/conflict.html", conflict=found, form=form, record=record,
                           other=other, codes=queries.node_codes()), 422 if form.errors else 200


@bp.route("/quarantine")
@central_only
@role_required("coordinator")
def quarantine():
    """Every record central refused, with the node and the reason."""
    return render_template("nodes/quarantine.html", rows=queries.central_quarantine(),
                           codes=queries.node_codes(), plain_refusal=plain_refusal)


# -- field node ------------------------------------------------------------------------------
@bp.route("/sync", methods=["GET", "POST"])
def sync_status():
    """This node's sync: last success, pending changes, last error, and "Sync now"."""
    _field_only()
    from sync.node.runner import status

    state = current_app.extensions["sync"]
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if start_sync(current_app._get_current_object()):  # type: ignore[attr-defined]
            flash(_("Sync started. This page shows the result in a moment."), "info")
        else:
            flash(_("A sync is already running."), "info")
        return redirect(url_for("nodes.sync_status"))
    from fieldapp.media.queries import store_usage

    info = status(state)
    return render_template("nodes/sync.html", info=info, error=plain_error(info["last_error"]),
                           held=queries.local_quarantine(), log=queries.local_log(),
                           plain_refusal=plain_refusal, form=form, media=store_usage())


_running = threading.Lock()


def start_sync(app) -> bool:
    """Start one sync in the background (the page answers at once); False if one runs."""
    if not _running.acquire(blocking=False):
        return False

    def run() -> None:
        from sync.errors import SyncError
        from sync.node.client import sync_once

        try:
            with app.app_context():
                try:
                    sync_once(app.extensions["sync"])
                except SyncError:
                    pass  # recorded as the node's last error, shown on the page
        finally:
            _running.release()

    threading.Thread(target=run, name="sync-now", daemon=True).start()
    return True


@bp.post("/sync/held/<int:seq>/resend")
def resend(seq: int):
    """Send a refused change again (after the record was corrected)."""
    _field_only()
    from sync.node.local import requeue

    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if requeue(current_app.extensions["sync"], seq) is None:
        flash(_("This record no longer exists; nothing to send."), "info")
    else:
        flash(_("The change goes to central at the next sync."), "success")
    return redirect(url_for("nodes.sync_status"))


@bp.post("/sync/held/<int:seq>/discard")
@role_required("coordinator")
def discard(seq: int):
    """Give up a refused change (it stays listed as discarded)."""
    _field_only()
    from sync.node.local import discard as discard_op

    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    discard_op(current_app.extensions["sync"], seq)
    flash(_("The change was set aside; it will not be sent."), "info")
    return redirect(url_for("nodes.sync_status"))
