"""``fieldapp media ...``: the media store checked against the attachment rows."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

media = click.Group("media", help="Photos and scans: check the stored files.")


@media.command("check")
@click.option("--quick", is_flag=True, help="Do not read every file to check its hash.")
@with_appcontext
def check(quick: bool) -> None:
    """List files not yet received, missing (lost), orphaned and damaged; exit 1 on an error."""
    from flask import current_app

    from fieldapp.media.queries import check_store

    found = check_store(verify=not quick)
    grace = current_app.config["MEDIA_MISSING_GRACE_HOURS"]
    for label, hashes in (
            (f"not yet received (attached less than {grace} h ago)", found.waiting),
            (f"missing (attached more than {grace} h ago)", found.missing),
            ("orphaned", found.orphaned), ("damaged", found.damaged)):
        click.echo(f"{label}: {len(hashes)}")
        for sha256 in hashes:
            click.echo(f"  {sha256}")
    if found.on_central:
        click.echo(f"pruned here, kept on central: {found.on_central}")
    if found.on_demand:
        click.echo(f"on demand, kept on their node (MEDIA_EAGER_KINDS): {found.on_demand}")
    if found.swept:
        click.echo(f"abandoned partial files removed: {found.swept}")
    # Exit codes (docs/operating/media.md): 0 nothing wrong (files only waiting), 1 an error.
    if found.failed:
        raise SystemExit(1)


@media.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@with_appcontext
def prune(dry_run: bool) -> None:
    """Remove a node's copies of files central holds, older than MEDIA_RETENTION_DAYS."""
    from fieldapp.errors import AppError
    from fieldapp.extensions import db
    from fieldapp.media.operations import prune_files, remove_pruned

    try:
        found = prune_files(dry_run=dry_run)
    except AppError as error:
        click.echo(str(error.message), err=True)
        raise SystemExit(1) from None
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(found.hashes)} files ({found.bytes / 1e6:.1f} MB) kept on central")
    if dry_run:
        db.session.rollback()
        return
    db.session.commit()
    remove_pruned(found.hashes)


@media.command("resend")
@with_appcontext
def resend() -> None:
    """Forget which files central confirmed: the next sync asks it about every one again."""
    from sqlalchemy import delete

    from fieldapp.extensions import db
    from fieldapp.media.models import OnCentral

    # A file pruned here stays pruned: this node has no copy to send.
    count = db.session.execute(delete(OnCentral).where(OnCentral.pruned_at.is_(None))).rowcount
    db.session.commit()
    click.echo(f"{count} files will be checked with central again at the next sync")
