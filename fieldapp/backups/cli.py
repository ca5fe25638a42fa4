"""``fieldapp backup``, ``fieldapp restore``, ``fieldapp upgrade`` and ``fieldapp db checkpoint``:
thin click commands over :mod:`fieldapp.backups.operations`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from fieldapp.extensions import db


def _fail(error: Exception) -> None:
    raise click.ClickException(str(error)) from error


def _media_folder() -> Path:
    from fieldapp.media.storage import media_folder

    return media_folder(current_app.config, current_app.instance_path)


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@with_appcontext
def backup(dest: Path) -> None:
    """Back up the database and the instance files into DEST (a new folder, or .tar/.tar.gz)."""
    from fieldapp import __version__
    from fieldapp.backups.operations import BackupError, back_up

    try:
        summary = back_up(db.engine, Path(current_app.instance_path), dest, __version__,
                          media=_media_folder())
    except BackupError as error:
        _fail(error)
    click.echo(f"backed up {', '.join(summary.files)} (schema {summary.revision}) to "
               f"{summary.path}")


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace an installation that already holds data (the app must be stopped).")
@with_appcontext
def restore(src: Path, force: bool) -> None:
    """Restore the database and the instance files from a backup made by `fieldapp backup`."""
    from fieldapp.backups.operations import BackupError
    from fieldapp.backups.operations import restore as put_back

    db.session.remove()
    try:
        summary = put_back(db.engine, Path(current_app.instance_path), src, force=force,
                           media=_media_folder())
    except BackupError as error:
        _fail(error)
    click.echo(f"restored {', '.join(summary.files)} (schema {summary.revision}) from {src}")
    if summary.kept:
        click.echo(f"kept as they were (not in the backup): {', '.join(summary.kept)}")
    click.echo("start the app (it upgrades an older schema on start);")
    if current_app.config["ROLE"] == "field":
        click.echo("if the next sync says sequence_regressed, run `fieldapp node resequence`, "
                   "then `fieldapp sync`.")
    else:
        click.echo("field nodes send again what central lost on their next sync; one that stops "
                   "with central_regressed needs `fieldapp node resend-all`.")


@click.command("upgrade")
@click.option("--backup-to", "backup_to", type=click.Path(path_type=Path), default=None,
              help="Where the backup taken first goes "
                   "(default: <instance>/backups/before-upgrade-<time>.tar.gz).")
@with_appcontext
def upgrade(backup_to: Path | None) -> None:
    """Back up this installation, then upgrade its database to the installed code's schema."""
    from datetime import UTC, datetime

    from flask_migrate import upgrade as migrate_upgrade

    from fieldapp import __version__
    from fieldapp.backups.operations import BackupError, back_up, schema_revision
    from fieldapp.setup import MIGRATIONS_DIR

    if backup_to is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup_to = (Path(current_app.instance_path) / "backups"
                     / f"before-upgrade-{stamp}.tar.gz")
    try:
        summary = back_up(db.engine, Path(current_app.instance_path), backup_to, __version__,
                          media=_media_folder())
    except BackupError as error:
        _fail(error)
    click.echo(f"backed up (schema {summary.revision}) to {summary.path}")
    migrate_upgrade(directory=str(MIGRATIONS_DIR))
    click.echo(f"database at schema {schema_revision(db.engine)}")


@click.command("checkpoint")
@with_appcontext
def checkpoint() -> None:
    """Fold SQLite's write-ahead log into the database file (run when the app stops)."""
    from fieldapp.checkpoints import fold

    if db.engine.dialect.name != "sqlite":
        click.echo(f"nothing to do on {db.engine.dialect.name}")
        return
    try:
        fold(db.engine)
    except RuntimeError as error:
        _fail(error)
    click.echo(f"checkpointed {db.engine.url.database}")


def init_app(app: Flask) -> None:
    """Add the commands to the app's CLI; ``checkpoint`` joins Flask-Migrate's ``db`` group."""
    from flask_migrate.cli import db as db_group

    for command in (backup, restore, upgrade):
        app.cli.add_command(command)
    db_group.add_command(checkpoint)
