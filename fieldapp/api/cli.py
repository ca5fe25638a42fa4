"""``fieldapp api-token create|list|revoke``: the analysts' tokens from a shell (central)."""

from __future__ import annotations

import uuid

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from fieldapp.api.catalogue import API_DATASETS
from fieldapp.api.operations import MAX_DAYS, create_token, revoke_token
from fieldapp.api.queries import all_tokens, token_by_public_id
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db

api_token = click.Group("api-token", help="Manage the read API's tokens (central).")


def _central() -> None:
    if current_app.config["ROLE"] != "central":
        raise click.ClickException("The read API runs on central only.")


@api_token.command("create")
@click.argument("name")
@click.option("--dataset", "datasets", multiple=True, required=True,
              type=click.Choice(sorted(API_DATASETS)), help="A dataset it reads (repeatable).")
@click.option("--community", "communities", multiple=True,
              help="Community code (repeatable; none: every community).")
@click.option("--personal-data", is_flag=True, help="Also DNI, phone and GPS.")
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=90, show_default=True)
@with_appcontext
def create(name: str, datasets: tuple[str, ...], communities: tuple[str, ...],
           personal_data: bool, days: int) -> None:
    """Make a token and print it (shown once)."""
    from fieldapp.communities.models import Community

    _central()
    ids: list[uuid.UUID] = []
    for code in communities:
        found = db.session.execute(select(Community.id).where(
            Community.code == code, Community.voided.is_(False))).scalar_one_or_none()
        if found is None:
            raise click.ClickException(f"No community with the code {code}.")
        ids.append(found)
    try:
        made = create_token(name, list(datasets), ids, personal_data, days, "cli")
    except ValidationFailed as error:
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(made.secret)
    click.echo(f"expires {made.token.expires_at:%Y-%m-%d %H:%M} UTC; shown once, keep it safe",
               err=True)


@api_token.command("list")
@with_appcontext
def list_tokens() -> None:
    """Every token: public id, name, datasets, expiry, last use, revoked."""
    _central()
    for t in all_tokens():
        state = "revoked" if t.revoked_at else f"expires {t.expires_at:%Y-%m-%d}"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        click.echo(f"{t.public_id}  {t.name}  [{', '.join(t.datasets)}]  {state}  "
                   f"last used {used}{'  personal' if t.personal_data else ''}")


@api_token.command("revoke")
@click.argument("public_id")
@with_appcontext
def revoke(public_id: str) -> None:
    """Revoke the token whose public id (as `list` shows it) is PUBLIC_ID."""
    _central()
    token = token_by_public_id(public_id.removeprefix("fapi_").split("_")[0])
    if token is None:
        raise click.ClickException(f"No token {public_id}.")
    revoke_token(token, "cli")
    db.session.commit()
    click.echo(f"revoked {token.public_id} ({token.name})")
