"""Drop two indexes of benefit deliveries that no query needs.

Benefit deliveries are the largest table a push or a pull writes (a quarter of the records at
the program's scale), and each of their indexes is one more B-tree written per row:

| dropped | why |
| --- | --- |
| ``ix_dash_deliveries_reverses`` (reverses, voided) | the unique index on ``reverses_id`` finds a delivery's reversal as well: there is at most one, and SQLite's plans already chose the unique index |
| ``ix_benefit_deliveries_benefit_type_id`` | no query looks deliveries up by benefit alone: an agreement's deliveries by benefit are found by agreement, doubles by family and date |

Plain index statements, no batch mode (a batch migration would recreate the table and drop the
dashboard's triggers on it).

Revision ID: 0012_unused_delivery_indexes
Revises: 0011_changes_rowid
Create Date: 2026-12-04 15:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_unused_delivery_indexes"
down_revision = "0011_changes_rowid"
branch_labels = None
depends_on = None

#: (index, table, columns) as 0001 and 0003 created them.
DROPPED = (
    ("ix_dash_deliveries_reverses", "benefit_deliveries", ["reverses_id", "voided"]),
    ("ix_benefit_deliveries_benefit_type_id", "benefit_deliveries", ["benefit_type_id"]),
)


def upgrade():
    for name, table, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns, unique=False)
