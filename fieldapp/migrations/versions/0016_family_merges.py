"""Family merges and withdrawals (issue 24).

- ``families.merged_into_id``: a family found registered twice is merged into the other on
  central; the merged record stays as a voided tombstone naming the survivor (its page and code
  lead there; nodes receive it through the ordinary sync of the changed row).
- ``families.withdrawn_reason`` / ``withdrawn_on``: a family that left the program.
- ``family_distinct_pairs``: pairs a coordinator said are two families (never proposed again;
  central's own, it does not sync).

The columns are added in place (no table rebuild: on SQLite, with foreign keys on, rebuilding
``families`` would drop a table every other table refers to). The withdrawal reason is checked by
the operation, not by a CHECK constraint, for the same reason.

Revision ID: 0016_family_merges
Revises: 0015_unit_plurals
Create Date: 2026-12-07 12:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_family_merges"
down_revision = "0015_unit_plurals"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place (Alembic would ask for a rebuild).
        op.execute("ALTER TABLE families ADD COLUMN merged_into_id CHAR(32) "
                   "CONSTRAINT fk_families_merged_into_id_families REFERENCES families (id)")
    else:
        op.add_column("families", sa.Column("merged_into_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(op.f("fk_families_merged_into_id_families"), "families",
                              "families", ["merged_into_id"], ["id"])
    op.add_column("families", sa.Column("withdrawn_reason", sa.String(length=20), nullable=True))
    op.add_column("families", sa.Column("withdrawn_on", sa.Date(), nullable=True))
    op.create_table(
        "family_distinct_pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("family_a_id", sa.Uuid(), nullable=False),
        sa.Column("family_b_id", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["family_a_id"], ["families.id"],
                                name=op.f("fk_family_distinct_pairs_family_a_id_families")),
        sa.ForeignKeyConstraint(["family_b_id"], ["families.id"],
                                name=op.f("fk_family_distinct_pairs_family_b_id_families")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_distinct_pairs")),
        sa.UniqueConstraint("family_a_id", "family_b_id",
                            name=op.f("uq_family_distinct_pairs_family_a_id_family_b_id")),
    )


def downgrade():
    op.drop_table("family_distinct_pairs")
    # In place (SQLite >= 3.35 drops a column without rebuilding the table).
    op.drop_column("families", "withdrawn_on")
    op.drop_column("families", "withdrawn_reason")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_families_merged_into_id_families"), "families",
                           type_="foreignkey")
    op.drop_column("families", "merged_into_id")
