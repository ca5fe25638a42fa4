"""``fieldapp print ...``: the printouts from the command line (batch agreements above all)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from fieldapp.extensions import db

prints = click.Group("print", help="Print agreements, QR cards and attendance sheets to PDF.")


def _community(code: str) -> Any:
    from fieldapp.communities.models import Community

    community = db.session.execute(
        select(Community).where(Community.code == code, Community.voided.is_(False))
    ).scalar_one_or_none()
    if community is None:
        raise click.BadParameter(f"no community with code {code!r}", param_hint="--community")
    return community


def _write_atomically(out: Path, chunks: Any) -> int:
    """Write ``chunks`` to ``out`` through a temporary file (no half-written PDF is left)."""
    tmp = out.with_name(f".{out.name}.part")
    size = 0
    try:
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
        os.replace(tmp, out)
    except OSError as error:  # a missing folder, a full disk: a message, not a traceback
        raise click.ClickException(f"cannot write {out}: {error.strerror or error}") from error
    finally:
        tmp.unlink(missing_ok=True)
    return size


LANG = click.option("--lang", type=click.Choice(["es", "en"]), default="es", show_default=True,
                    help="Language of the printout.")
OUT = click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                   required=True, help="PDF file to write.")


@prints.command("agreements")
@click.option("--community", "community_code", help="Community code; all communities if left out.")
@click.option("--status", type=click.Choice(["in_force", "draft", "all"]), default="in_force",
              show_default=True, help="in_force: signed, active and suspended agreements.")
@click.option("--year", type=click.IntRange(2000, 2100), help="Only agreements of this year.")
@click.option("--jobs", type=click.IntRange(0, 16), default=0, show_default=True,
              help="Worker processes rendering the PDF (0: one per CPU, at most 4).")
@LANG
@OUT
@with_appcontext
def print_agreements(community_code: str | None, status: str, year: int | None, jobs: int,
                     lang: str, out: Path) -> None:
    """Print a community's agreements, or all, into one PDF (streamed to --out)."""
    from fieldapp.printing.batch import auto_jobs, iter_batch_pdf
    from fieldapp.printing.labels import agreement_labels
    from fieldapp.printing.queries import STATUS_CHOICES, agreements_query

    community = _community(community_code) if community_code else None
    ids = list(db.session.execute(
        agreements_query(community=community, statuses=STATUS_CHOICES[status], year=year)
    ).scalars())
    if not ids:
        raise click.ClickException("no agreements to print for this choice")
    started = time.perf_counter()
    stats: dict[str, int] = {}
    size = _write_atomically(out, iter_batch_pdf(ids, agreement_labels(lang),
                                                 jobs=jobs or auto_jobs(), stats=stats))
    seconds = time.perf_counter() - started
    click.echo(f"{stats['agreements']} agreements, {stats['pages']} pages, "
               f"{size / 1e6:.1f} MB in {seconds:.1f} s -> {out}")


@prints.command("cards")
@click.option("--community", "community_code", required=True, help="Community code.")
@LANG
@OUT
@with_appcontext
def print_cards(community_code: str, lang: str, out: Path) -> None:
    """Print a community's family QR cards (ten a page)."""
    from fieldapp.printing.labels import card_labels
    from fieldapp.printing.queries import community_families, family_cards
    from fieldapp.printing.sheets import cards_pdf

    families = community_families(_community(community_code))
    if not families:
        raise click.ClickException("this community has no families")
    _write_atomically(out, [cards_pdf(family_cards(families), card_labels(lang))])
    click.echo(f"{len(families)} cards -> {out}")


@prints.command("attendance")
@click.option("--community", "community_code", help="Community code (a blank sheet).")
@click.option("--session", "session_code", help="Training session code.")
@LANG
@OUT
@with_appcontext
def print_attendance(community_code: str | None, session_code: str | None, lang: str,
                     out: Path) -> None:
    """Print a session's attendance sheet, or a blank one for a community."""
    from fieldapp.printing.labels import attendance_labels
    from fieldapp.printing.queries import attendance_sheet
    from fieldapp.printing.sheets import attendance_pdf
    from fieldapp.trainings.models import TrainingSession

    if session_code:
        session = db.session.execute(
            select(TrainingSession).where(TrainingSession.code == session_code)
        ).scalar_one_or_none()
        if session is None:
            raise click.BadParameter(f"no session with code {session_code!r}",
                                     param_hint="--session")
        sheet = attendance_sheet(session.community, session)
    elif community_code:
        sheet = attendance_sheet(_community(community_code))
    else:
        raise click.UsageError("give --session or --community")
    _write_atomically(out, [attendance_pdf(sheet, attendance_labels(lang))])
    click.echo(f"{len(sheet.rows)} families -> {out}")
