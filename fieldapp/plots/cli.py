"""``fieldapp alerts import FILE``: a deforestation alert file imported from a shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.plots.alerts import import_alerts

alerts_group = click.Group("alerts", help="Deforestation alerts (central).")


@alerts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default=None, help="The platform (GLAD-L, GLAD-S2, RADD...) when the "
              "file does not name it per alert.")
@click.option("--buffer", type=click.FloatRange(min=0, max=5000), default=None,
              help="Metres around a plot an alert still matches (default ALERT_BUFFER_M).")
@with_appcontext
def import_command(file: Path, source: str | None, buffer: float | None) -> None:
    """Import an alert file (GeoJSON or CSV) and make the alerts to verify it calls for."""
    if current_app.config["ROLE"] != "central":
        raise click.ClickException("Alerts are imported on central.")
    limit = int(current_app.config["IMPORT_MAX_BYTES"])
    if file.stat().st_size > limit:
        raise click.ClickException(f"{file.name} is larger than {limit} bytes "
                                   "(IMPORT_MAX_BYTES). Nothing was imported.")
    # In English, as the command's own lines (an operator's shell).
    with force_locale("en"):
        try:
            report = import_alerts(file.read_bytes(), file.name, source, buffer)
            db.session.commit()
        except AppError as error:
            db.session.rollback()
            raise click.ClickException(str(error.message)) from None
    click.echo(f"{report.read} alerts read: {report.new} new, {report.known} already imported, "
               f"{report.repeated} repeated in the file; {report.checks} alerts to verify on "
               f"plots under agreement.")
