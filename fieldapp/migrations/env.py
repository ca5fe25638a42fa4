"""Alembic environment for fieldapp (run through Flask-Migrate, also at app start-up)."""

import logging

from alembic import context
from flask import current_app

import fieldapp.schema  # noqa: F401  (every model registered on the metadata)

config = context.config
logger = logging.getLogger("alembic.env")
# No fileConfig(): the app owns logging; re-configuring it on every start-up would mute it.

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


def run_migrations_offline():
    """Emit SQL for the migrations (``fieldapp db upgrade --sql``)."""
    url = get_engine().url.render_as_string(hide_password=False)
    context.configure(
        url=url,
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


#: The PostgreSQL advisory lock held while migrating ("fieldapp" in ASCII, as a number).
MIGRATION_LOCK = 0x6669656C64617070


def run_migrations_online():
    """Apply the migrations on the app's own engine."""

    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("compare_type", True)

    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several app servers restarted together each run `fieldapp db upgrade`: they
                # take turns, and the next finds the schema current (the lock ends with the
                # transaction). SQLite has one writer at a time already.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
