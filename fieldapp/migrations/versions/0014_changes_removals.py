"""An index of the change log's removal notices (rows that left a community).

When a record moves to another community (a family's community changed, say), central writes
a removal notice (``op = 'r'``) at its old place for it and every record below it
(``sync/capture/moves.py``). Each pull page reads the notices after its start in the node's scope:
a partial index holds only those few entries, with every column the page reads (it answers
alone), so the question costs nothing when nothing moved, and no other entry of the change
log carries one more B-tree.

Plain index statements, no batch mode.

Revision ID: 0014_changes_removals
Revises: 0013_sessions_and_role
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014_changes_removals"
down_revision = "0013_sessions_and_role"
branch_labels = None
depends_on = None


#: (index, table) this migration creates (tests that rebuild an older schema drop them).
CREATED = (("ix_sync_changes_removals", "sync_changes"),)


def upgrade():
    op.create_index("ix_sync_changes_removals", "sync_changes",
                    ["server_seq", "community_id", "community_id2", "table_name", "row_id", "op"],
                    unique=False, sqlite_where=sa.text("op = 'r'"),
                    postgresql_where=sa.text("op = 'r'"))


def downgrade():
    op.drop_index("ix_sync_changes_removals", table_name="sync_changes")
