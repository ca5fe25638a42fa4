"""``fieldapp media ...``: the media store checked against the attachment rows."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

media = click.Group("media", help="Photos and scans: check the stored files.")


@media.command("check")
@click.option("--quick", is_flag=True, help="Do not read every file to check its hash.")
@with_appcontext
def check(quick: bool) -> None:
    """List missing (not yet received or lost), orphaned and damaged files; exit 1 if any."""
    from fieldapp.media.queries import check_store

    found = check_store(verify=not quick)
    for label, hashes in (("missing", found.missing), ("orphaned", found.orphaned),
                          ("damaged", found.damaged)):
        click.echo(f"{label}: {len(hashes)}")
        for sha256 in hashes:
            click.echo(f"  {sha256}")
    if found.missing or found.orphaned or found.damaged:
        raise SystemExit(1)


@media.command("resend")
@with_appcontext
def resend() -> None:
    """Forget which files central confirmed: the next sync asks it about every one again."""
    from sqlalchemy import delete

    from fieldapp.extensions import db
    from fieldapp.media.models import OnCentral

    count = db.session.execute(delete(OnCentral)).rowcount
    db.session.commit()
    click.echo(f"{count} files will be checked with central again at the next sync")
