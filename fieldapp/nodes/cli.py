"""``fieldapp node ...`` (enrolment, registration, revocation) and ``fieldapp sync``."""

from __future__ import annotations

import json
import signal
import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from fieldapp.extensions import db

node = click.Group("node", help="This node's enrolment (field) or the registered nodes (central).")


def _state():
    return current_app.extensions["sync"]


def _fail(error) -> None:
    raise click.ClickException(f"{error.code}: {error.message}")


@node.command("enroll")
@click.option("--central", "central_url", required=True,
              help="Central's URL, e.g. https://central.example.org")
@click.option("--code", required=True,
              help="The one-time enrolment code an administrator gave you.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CA certificate(s) that signed central's certificate (when not a public CA).")
@with_appcontext
def enroll(central_url: str, code: str, ca_file: str | None) -> None:
    """Enrol this field node with central (exchanges the code for a credential)."""
    from pathlib import Path

    from fieldapp.instance import load_node_identity, save_node_identity
    from sync.errors import SyncError
    from sync.node.transport import enrol

    if current_app.config["ROLE"] != "field":
        raise click.ClickException("only a field node enrols (FIELDAPP_ROLE=field)")
    try:
        creds = enrol(_state(), central_url, code, ca_file)
    except SyncError as error:
        _fail(error)
    instance = Path(current_app.instance_path)
    identity = load_node_identity(instance)
    identity.update(node_id=creds["node_id"], node_code=creds["node_code"])
    save_node_identity(instance, identity)
    click.echo(f"enrolled as node {creds['node_code']} ({creds['name']}) "
               f"with {creds['central_url']}")
    click.echo("restart the app so new records use the node code")


@node.command("set-code")
@click.argument("code")
@with_appcontext
def set_code(code: str) -> None:
    """Choose this installation's own node code (central, or a field node not enrolled yet):
    the code the records it creates from now on carry (AM-<code>-0042); records made before
    keep theirs. Checked like a new node's code (length, alphabet without vowels, not taken)."""
    from pathlib import Path

    from fieldapp.errors import ValidationFailed
    from fieldapp.instance import load_node_identity, save_node_identity
    from fieldapp.nodes.operations import check_new_node_code
    from sync.node.transport import load_credentials

    if current_app.config["ROLE"] == "field" and load_credentials(_state()) is not None:
        raise click.ClickException("an enrolled node keeps the code central registered for it")
    try:
        code = check_new_node_code(code)
    except ValidationFailed as error:
        raise click.ClickException(str(error.message)) from error
    instance = Path(current_app.instance_path)
    identity = load_node_identity(instance)
    identity["node_code"] = code
    save_node_identity(instance, identity)
    click.echo(f"node code set to {code}; restart the app so new records use it")


@node.command("status")
@with_appcontext
def status() -> None:
    """Show this node's sync status (enrolment, pending changes, last success and error)."""
    from sync.node.runner import status as sync_status

    info = sync_status(_state())
    for key, value in info.items():
        click.echo(f"{key}: {value}")


@node.command("resequence")
@with_appcontext
def resequence() -> None:
    """Renumber this node's pending changes after its database was restored from a backup."""
    from sync.errors import SyncError
    from sync.node.runner import resequence as renumber

    try:
        moved = renumber(_state())
    except SyncError as error:
        _fail(error)
    click.echo(f"renumbered {moved} pending changes; run `fieldapp sync`")


@node.command("resend-all")
@with_appcontext
def resend_all() -> None:
    """Send every record this node holds again, after central was restored from a backup
    older than this node's outbox keeps (the sync stopped with central_regressed)."""
    from sync.errors import SyncError
    from sync.node.runner import send_everything

    try:
        sent = send_everything(_state())
    except SyncError as error:
        _fail(error)
    if sent is None:
        click.echo("central lost nothing this node cannot send again: run `fieldapp sync`")
        return
    click.echo(f"{sent} operations will send every record again; run `fieldapp sync`")


@node.command("compact-log")
@click.option("--keep-days", type=click.FloatRange(min=0), default=None,
              help="Keep superseded entries this recent (default SYNC_CHANGES_KEEP_DAYS, 90).")
@with_appcontext
def compact_log(keep_days: float | None) -> None:
    """Central: drop change-log entries that a newer entry of the same row supersedes (nodes
    still receive every row as it is now; cursors stay valid)."""
    from sync.central.compact import compact_changes

    _central_only()
    deleted = compact_changes(_state(), db.session, keep_days)
    db.session.commit()
    click.echo(f"compacted the change log: {deleted} superseded entries deleted")


@node.command("register")
@click.argument("name")
@click.option("--code", default=None,
              help="Short node code: 2-8 of CDFGHJKMNPQRTVWX679 (no vowels); drawn if omitted.")
@click.option("--community", "communities", multiple=True, help="Community code (repeatable).")
@click.option("--all-communities", is_flag=True, help="The node serves every community.")
@with_appcontext
def register(name: str, code: str | None, communities: tuple[str, ...],
             all_communities: bool) -> None:
    """Register a field node on central and print its one-time enrolment code.

    The code is the admin's choice (checked: length, alphabet without vowels, not taken), or a
    free one drawn from the same alphabet."""
    from fieldapp.errors import AppError
    from fieldapp.nodes.operations import register_node, suggest_node_code

    _central_only()
    try:
        registered, enrol_code = register_node(name, code or suggest_node_code(), communities,
                                               all_communities)
    except AppError as error:
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"registered node {registered.code} ({registered.name})")
    click.echo(f"enrolment code (shown once): {enrol_code}")


@node.command("new-code")
@click.argument("code")
@with_appcontext
def new_code(code: str) -> None:
    """Make a new one-time enrolment code for a node (e.g. after reinstalling it)."""
    from fieldapp.nodes.operations import issue_enrolment_code

    registered = _node_by_code(code)
    enrol_code = issue_enrolment_code(registered)
    db.session.commit()
    click.echo(f"enrolment code (shown once): {enrol_code}")


@node.command("revoke")
@click.argument("code")
@with_appcontext
def revoke(code: str) -> None:
    """Revoke a node's credential: central refuses it from now on."""
    from fieldapp.nodes.operations import revoke_node

    registered = _node_by_code(code)
    revoke_node(registered)
    db.session.commit()
    click.echo(f"revoked node {registered.code}")


@node.command("list")
@with_appcontext
def list_nodes() -> None:
    """List the registered nodes with their state and last contact."""
    from sqlalchemy import select

    from fieldapp.nodes.models import Node

    _central_only()
    for n in db.session.execute(select(Node).order_by(Node.code)).scalars():
        scope = "all" if n.all_communities else ",".join(c.code for c in n.communities)
        click.echo(f"{n.code}\t{n.status}\t{n.last_contact_at or '-'}\t{scope}\t{n.name}")


def _central_only() -> None:
    if current_app.config["ROLE"] != "central":
        raise click.ClickException("this command runs on central (FIELDAPP_ROLE=central)")


def _node_by_code(code: str):
    from sqlalchemy import select

    from fieldapp.nodes.models import Node

    _central_only()
    found = db.session.execute(select(Node).where(Node.code == code.upper())).scalar_one_or_none()
    if found is None:
        raise click.ClickException(f"no node with code {code}")
    return found


def _finite(value: float | None) -> float | None:
    """Refuse ``nan``, which passes every range check (comparisons with it are false)."""
    if value is not None and value != value:
        raise click.BadParameter("must be a number of seconds")
    return value


@click.command("sync")
@click.option("--loop", is_flag=True,
              help="Keep syncing; back off (with jitter) while central does not answer.")
@click.option("--interval", type=click.FloatRange(1, 86_400), default=None,
              callback=lambda _ctx, _param, value: _finite(value),
              help="Seconds between syncs in the loop (1 to 86400).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def sync_command(loop: bool, interval: float | None, as_json: bool) -> None:
    """Sync this field node with central once (or keep syncing with --loop)."""
    from sync.errors import SyncError
    from sync.node.client import sync_once
    from sync.node.runner import run_loop

    if current_app.config["ROLE"] != "field":
        raise click.ClickException("only a field node syncs (FIELDAPP_ROLE=field)")
    state = _state()
    if interval is not None:
        current_app.config["SYNC_INTERVAL"] = interval

    def show(report, error, delay=None) -> None:
        if as_json:
            out = report.as_dict() if report else {"ok": False}
            if error is not None:
                out.update(error_code=error.code, error=error.message)
            click.echo(json.dumps(out, default=str))
            return
        if report is not None and report.ok:
            click.echo(f"synced: pushed {report.pushed}, pulled {report.pulled}, "
                       f"refused {report.rejected}, conflicts {report.conflicts}, "
                       f"{report.requests} requests in {report.seconds:.2f} s")
        _show_media(report.media if report is not None else None)
        if error is not None:
            click.echo(f"sync failed: {error.code}: {error.message}", err=True)
        if delay is not None:
            click.echo(f"next sync in {delay:.0f} s")

    if not loop:
        try:
            report = sync_once(state)
        except SyncError as error:
            show(None, error)
            sys.exit(1)
        show(report, None)
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_loop(state, stop=stop, on_report=show)


def _show_media(media: dict | None) -> None:
    """What a sync did with the photos' files (``sync/node/media.py``), when it did anything."""
    if not media or not (media["sent"] or media["fetched"] or media["missing"]
                         or media.get("deferred") or media["error_code"]):
        return
    click.echo(f"photos: sent {media['sent']} ({media['sent_bytes'] // 1024} KB), "
               f"fetched {media['fetched']} ({media['fetched_bytes'] // 1024} KB), "
               f"not yet on central {media['missing']}"
               + (f", kept here until central asks {media['deferred']}"
                  if media.get("deferred") else ""))
    if media["error_code"]:
        click.echo(f"photos stopped (the next sync goes on): {media['error_code']}: "
                   f"{media['error']}", err=True)


def init_app(app: Flask) -> None:
    """Add the commands to the app's CLI."""
    app.cli.add_command(node)
    app.cli.add_command(sync_command)
