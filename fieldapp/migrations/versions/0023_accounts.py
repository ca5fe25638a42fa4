"""Accounts managed on central (issue 30): a node's copy of central's accounts is marked, and
central keeps the local accounts each node reports.

``users.from_central``: on a field node, the account is central's (received through sync, with
its password hash); it is changed only by central's next answer. False for every existing row:
accounts made on a node before this version are the node's own local accounts, reported to
central at the next sync and replaced there by central's account of the same user name.

``nodes.local_accounts`` / ``nodes.accounts_reported_at``: on central, what a node last reported
of its own local (emergency) accounts, without any password hash.

Plain ``add_column`` (SQLite adds a column in place; no batch mode, which would recreate the
table and drop the dashboard's triggers).

Revision ID: 0023_accounts
Revises: 0022_plots_alerts
Create Date: 2026-12-07 18:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0023_accounts"
down_revision = "0022_plots_alerts"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("from_central", sa.Boolean(), nullable=False,
                                     server_default="0"))
    op.add_column("nodes", sa.Column("local_accounts", sa.JSON(), nullable=True))
    op.add_column("nodes", sa.Column("accounts_reported_at", sa.DateTime(), nullable=True))


def downgrade():
    # In place (SQLite >= 3.35 drops a column without rebuilding the table).
    op.drop_column("nodes", "accounts_reported_at")
    op.drop_column("nodes", "local_accounts")
    op.drop_column("users", "from_central")
