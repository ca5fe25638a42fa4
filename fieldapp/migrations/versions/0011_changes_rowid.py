"""On SQLite, the change log's ``server_seq`` becomes the table's row key.

Declared ``BIGINT PRIMARY KEY``, it was a column with an index of its own beside SQLite's hidden
row key: every entry went into three B-trees (the table, the primary key, the unique node and
number). Declared ``INTEGER``, it is the row key itself: two B-trees an entry, and the log is
stored in the order the feed reads it. An initial push writes one entry per record.

SQLite only (the table is copied in batch mode; the dashboard's triggers are not on it).
PostgreSQL keeps ``BIGINT``.

Revision ID: 0011_changes_rowid
Revises: 0010_outbox_payloads
Create Date: 2026-11-26 08:15:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0011_changes_rowid"
down_revision = "0010_outbox_payloads"
branch_labels = None
depends_on = None


def _server_seq(type_):
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("sync_changes", recreate="always") as batch_op:
        batch_op.alter_column("server_seq", type_=type_, existing_nullable=False,
                              autoincrement=False)


def upgrade():
    _server_seq(sa.Integer())


def downgrade():
    _server_seq(sa.BigInteger())
