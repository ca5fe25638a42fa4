"""``fieldapp import families FILE [--dry-run]``: a register imported from a shell;
``fieldapp import agreements FILE [--dry-run]``: agreements signed on paper before fieldapp."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.imports.columns import FAMILY_COLUMNS, IGNORE, Columns
from fieldapp.imports.operations import import_families
from fieldapp.imports.preview import Preview, RowVerdict, headers_of, judge

import_group = click.Group("import", help="Import records kept elsewhere.")

LABELS = {"new": "new", "existing": "already here", "duplicate": "possible duplicate",
          "invalid": "invalid"}


def _line(row: RowVerdict) -> str:
    reasons = "; ".join(f"{field}: {message}" for field, message in row.problems.items())
    return f"row {row.number}: {LABELS[row.verdict]}" + (f" ({row.note})" if row.note else "") + \
        (f" — {reasons}" if reasons else "")


def _mapping(preview_headers: list[str] | None, maps: tuple[str, ...],
             columns: Columns = FAMILY_COLUMNS) -> list[str] | None:
    if not maps:
        return None
    chosen = dict(m.split("=", 1) for m in maps if "=" in m)
    unknown = [f for f in chosen.values() if f and f not in columns.fields]
    if unknown:
        raise click.BadParameter(
            f"unknown field {unknown[0]}; one of: {', '.join(columns.fields)}",
            param_hint="--map")
    return [chosen[h] if h in chosen else columns.guess(h) for h in preview_headers or []]


@import_group.command("families")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Judge every row, import nothing.")
@click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD",
              help="Read a column as a field (FIELD empty: leave it out). Repeatable.")
@click.option("--create-community", "create", multiple=True, metavar="CODE",
              help="Create this community the file names (repeatable).")
@click.option("--create-communities", "create_all", is_flag=True,
              help="Create every community the file names that does not exist.")
@click.option("--include-duplicates", is_flag=True,
              help="Also register the rows that look like a family already registered.")
@with_appcontext
def families(file: Path, dry_run: bool, maps: tuple[str, ...], create: tuple[str, ...],
             create_all: bool, include_duplicates: bool) -> None:
    """Import families from a CSV or XLSX register (the families export's columns, or mapped)."""
    try:
        preview: Preview | None = None
        mapping = None
        if maps:
            mapping = _mapping(headers_of(file)[0], maps)
        preview = None
        invalid: list[RowVerdict] = []
        for current, row in judge(file, mapping):
            preview = current
            if row.verdict == "invalid" and len(invalid) < 200:
                invalid.append(row)
        if preview is None:
            raise click.ClickException("The file has a header but no rows.")
        confirmed = set(preview.new_communities) if create_all else {c.upper() for c in create}
        click.echo(f"{preview.total} rows: " + ", ".join(
            f"{preview.counts[v]} {LABELS[v]}" for v in LABELS))
        ignored = [h for h, m in zip(preview.headers, preview.mapping, strict=True)
                   if m == IGNORE]
        if ignored:
            click.echo("columns left out: " + ", ".join(ignored))
        for code, (name, count) in preview.new_communities.items():
            state = "will be created" if code in confirmed else \
                "not created (--create-community to confirm): its rows are skipped"
            click.echo(f"new community {code} ({name}), {count} rows: {state}")
        for row in invalid:
            click.echo(_line(row))
        if dry_run:
            click.echo("dry run: nothing imported")
            return
        _preview, done = import_families(file, mapping, confirmed, include_duplicates)
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message} Nothing was imported.") from None
    click.echo(f"imported {done['created']} families, {done['communities']} communities; "
               f"left as they were: {done['existing']} already here, {done['invalid']} "
               f"invalid, {done['skipped_duplicate']} possible duplicates, "
               f"{done['skipped_community']} of unconfirmed communities")


@import_group.command("agreements")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Judge every row, import nothing.")
@click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD",
              help="Read a column as a field (FIELD empty: leave it out). Repeatable.")
@with_appcontext
def agreements(file: Path, dry_run: bool, maps: tuple[str, ...]) -> None:
    """Import agreements signed on paper before fieldapp (a row each: the family's code or
    DNI, the date signed, optionally the period, place, signers and benefits)."""
    from fieldapp.imports import agreements as paper

    try:
        mapping = None
        if maps:
            mapping = _mapping(headers_of(file, paper.COLUMNS)[0], maps, paper.COLUMNS)
        preview, done = paper.import_agreements(file, mapping)
        ignored = [h for h, m in zip(preview.headers, preview.mapping, strict=True)
                   if m == IGNORE]
        click.echo(f"{preview.total} rows: " + ", ".join(
            f"{preview.counts[v]} {LABELS[v]}" for v in paper.VERDICTS))
        if ignored:
            click.echo("columns left out: " + ", ".join(ignored))
        for row in preview.rows:
            if row.verdict == "invalid":
                click.echo(_line(row))
        if dry_run:
            db.session.rollback()
            click.echo("dry run: nothing imported")
            return
        db.session.commit()
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message} Nothing was imported.") from None
    click.echo(f"imported {done['created']} agreements signed on paper; left as they were: "
               f"{done['existing']} already here, {done['invalid']} invalid")
