"""Agreements whose period starts on the day they are signed.

``agreements`` gets ``starts_on_signing`` (boolean, false for every existing row): a draft
that keeps the form's default period (from the day it is drafted, or drafted on a tablet with
no connection) is signed with a period that starts on its signing day, with the same length,
instead of a day already gone. Existing drafts keep the period they were drafted with.

Added in place (no table rebuild: signatures, deliveries and visits point at ``agreements``);
the downgrade drops it in place (SQLite 3.35+).

Revision ID: 0017_offline_drafts
Revises: 0016_family_merges
Create Date: 2026-12-07 15:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017_offline_drafts"
down_revision = "0016_family_merges"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on_signing", sa.Boolean(), nullable=False,
                                      server_default="0"))


def downgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("starts_on_signing")
