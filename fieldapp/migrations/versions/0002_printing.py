"""Printing: rate-limit counters for the public verification page.

The counters live in the database so that every worker process of central shares them. The
table is local to each installation (not synced).

Revision ID: 0002_printing
Revises: 0001_initial
Create Date: 2026-11-25 20:09:19

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002_printing"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_hits",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window", name=op.f("pk_rate_limit_hits")),
    )
    with op.batch_alter_table("rate_limit_hits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_limit_hits_window"), ["window"], unique=False)


def downgrade():
    with op.batch_alter_table("rate_limit_hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_hits_window"))
    op.drop_table("rate_limit_hits")
