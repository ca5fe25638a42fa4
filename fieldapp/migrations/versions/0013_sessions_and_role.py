"""Per-user session tokens, and the role the database was set up for.

- ``users.session_token``: part of every session and remember cookie (``User.get_id``);
  replacing it at logout, password change and deactivation ends every session of the user.
  Existing users get a random token each (so every session from before the upgrade ends once:
  its cookie holds the bare id). The column is added in place with a ``''`` default (no table
  rebuild: on SQLite, with foreign keys on, dropping ``users`` to rebuild it would cascade into
  ``user_communities``); PostgreSQL drops the default afterwards, SQLite keeps it (an empty token
  never matches a session, see ``fieldapp.setup.load_user``).
- ``installation_facts``: the role (``field``/``central``) is recorded on the first start of the
  app after this migration, not here: a migration cannot know which role runs it.

Revision ID: 0013_sessions_and_role
Revises: 0012_unused_delivery_indexes
Create Date: 2026-12-07 11:40:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_sessions_and_role"
down_revision = "0012_unused_delivery_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("session_token", sa.String(length=32), nullable=False,
                                     server_default=""))
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("session_token", sa.String))
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        bind.execute(users.update().where(users.c.id == user_id)
                     .values(session_token=secrets.token_hex(16)))
    if bind.dialect.name != "sqlite":
        op.alter_column("users", "session_token", server_default=None,
                        existing_type=sa.String(length=32), existing_nullable=False)
    op.create_table(
        "installation_facts",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_installation_facts")),
    )


def downgrade():
    op.drop_table("installation_facts")
    # In place (SQLite >= 3.35 drops a column without rebuilding the table).
    op.drop_column("users", "session_token")
