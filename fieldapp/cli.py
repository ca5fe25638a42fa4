"""The ``fieldapp`` command: thin click commands that call operations."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from fieldapp.extensions import db

#: Commands that must find the database as it is, so the app is built for them without
#: ``AUTO_MIGRATE``: ``upgrade`` backs up before it migrates, ``backup`` and ``restore`` copy
#: what is there (a restore onto a new node does not first create a database to replace).
AS_IS_COMMANDS = frozenset({"backup", "restore", "upgrade"})


def _create_app() -> Flask:
    from fieldapp import create_app
    from fieldapp.installation import RoleMismatch

    ctx = click.get_current_context(silent=True)
    as_is = ctx is not None and ctx.info_name in AS_IS_COMMANDS
    try:
        return create_app({"AUTO_MIGRATE": False} if as_is else None)
    except RoleMismatch as error:  # an operator's mistake: say what to do, no stack trace
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """fieldapp: conservation-agreement field data (field node or central)."""


def _as_is_commands() -> None:
    """Found by ``main`` without loading the app first (which would migrate the database)."""
    from fieldapp.backups.cli import backup, restore, upgrade

    for command in (backup, restore, upgrade):
        main.add_command(command)


_as_is_commands()


users = click.Group("users", help="Manage users.")


@users.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option(
    "--role",
    type=click.Choice(["field_staff", "coordinator", "admin"]),
    default="field_staff",
    show_default=True,
)
@click.option("--community", "communities", multiple=True, help="Community code (repeatable).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--locale", type=click.Choice(["es", "en"]), default=None)
@with_appcontext
def users_create(username: str, full_name: str, role: str, communities: tuple[str, ...],
                 password: str, locale: str | None) -> None:
    """Create a user with a role and the communities they work in.

    On a field node, only a local (emergency) account before the node has received central's
    accounts: audited, and reported to central at the next sync."""
    from fieldapp.errors import ValidationFailed
    from fieldapp.nodes.accounts import create_here

    try:
        user = create_here(username, full_name, password, role, communities, locale)
    except ValidationFailed as error:
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"created {user.username} ({user.role})")


@users.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_set_password(username: str, password: str) -> None:
    """Set a user's password; every session of the user ends, on every device (on a field
    node, only for its local accounts: central's are changed on central)."""
    from fieldapp.auth.operations import reset_password
    from fieldapp.errors import ValidationFailed

    try:
        user = reset_password(username, password)
    except ValidationFailed as error:
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"password of {user.username} set; their sessions have ended")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List users with their role and communities."""
    from sqlalchemy import select

    from fieldapp.auth.models import User

    for user in db.session.execute(select(User).order_by(User.username)).scalars():
        codes = ",".join(c.code for c in user.communities) or "-"
        state = "active" if user.active else "inactive"
        source = "central" if user.from_central else "local"
        click.echo(f"{user.username}\t{user.role}\t{state}\t{codes}\t{user.full_name}\t"
                   f"{source}")


@click.command("demo")
@click.option("--scale", type=click.FloatRange(min=0.01, max=100), default=1.0, show_default=True,
              help="Multiply the program's size (1 = 1,033 families).")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has families.")
@with_appcontext
def demo(scale: float, seed: int, if_empty: bool) -> None:
    """Fill the database with the deterministic Alto Mayo demo program."""
    from fieldapp.demo.generator import generate, has_data

    if if_empty and has_data():
        click.echo("database already has data; demo not generated")
        return
    stats = generate(scale=scale, seed=seed)
    from fieldapp.demo.duplicates import plant_duplicates

    # Families registered twice, for the coordinators' duplicates review (not in the
    # generator: the test and benchmark programs keep their figures).
    stats["duplicates"] = plant_duplicates(scale, seed)
    db.session.commit()
    click.echo(", ".join(f"{k}={v}" for k, v in stats.items()))


@click.command("welcome")
@click.option("--url", default="http://127.0.0.1:5000/", show_default=True)
@with_appcontext
def welcome(url: str) -> None:
    """Print where the app is served and the demo logins."""
    from flask import current_app

    from fieldapp.demo.generator import iter_demo_logins

    click.echo("")
    config = current_app.config
    click.echo(f"fieldapp ({config['ROLE']} node {config['NODE_CODE']}) at {url}")
    click.echo(f"data: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo("demo logins (user / password / role):")
    for username, password, role in iter_demo_logins():
        click.echo(f"  {username:<14} {password:<16} {role}")
    click.echo("")


def _printing_commands() -> click.Group:
    from fieldapp.printing.cli import prints

    return prints


def init_app(app: Flask) -> None:
    """Attach the commands to the app's CLI (``fieldapp`` and ``flask``)."""
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(welcome)
    app.cli.add_command(_printing_commands())

    from fieldapp.backups import cli as backups_cli

    backups_cli.init_app(app)

    from fieldapp.api.cli import api_token
    from fieldapp.imports.cli import import_group
    from fieldapp.media.cli import media

    app.cli.add_command(api_token)
    app.cli.add_command(import_group)
    app.cli.add_command(media)

    from fieldapp.plots.cli import alerts_group

    app.cli.add_command(alerts_group)
