"""A wrong attachment voided with a reason, files pruned from a node, originals requested by
central (issue 27).

``attachments.void_reason`` / ``voided_by`` / ``voided_at``: set together with ``voided`` when
the person who took a photo (before it was sent) or a coordinator voids it. The row and its file
are kept (auditors); the three columns travel with the row like its caption.

``media_on_central.pruned_at``: on a node, when it removed its copy of a file central holds
(``fieldapp media prune``); the page then says "kept on central" and the sync does not fetch it
back.

``media_requests``: on central, the originals a coordinator asked for ("request the original"
on a file not yet received, of a kind central does not take eagerly): the node that holds one
sends it at its next sync. Central's only (not synced).

Plain ``add_column`` (SQLite adds a column in place; no batch mode, which would recreate the
table and drop the dashboard's triggers).

Revision ID: 0024_media_void
Revises: 0023_accounts
Create Date: 2026-12-07 22:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0024_media_void"
down_revision = "0023_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("attachments", sa.Column("void_reason", sa.Text(), nullable=True))
    op.add_column("attachments", sa.Column("voided_by", sa.String(length=64), nullable=True))
    op.add_column("attachments", sa.Column("voided_at", sa.DateTime(), nullable=True))
    op.add_column("media_on_central", sa.Column("pruned_at", sa.DateTime(), nullable=True))
    op.create_table(
        "media_requests",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media_requests")),
    )


def downgrade():
    op.drop_table("media_requests")
    # In place (SQLite >= 3.35 drops a column without rebuilding the table).
    op.drop_column("media_on_central", "pruned_at")
    op.drop_column("attachments", "voided_at")
    op.drop_column("attachments", "voided_by")
    op.drop_column("attachments", "void_reason")
