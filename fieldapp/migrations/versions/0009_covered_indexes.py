"""Drop six indexes whose columns begin a wider index on the same table.

Each query they served is served as well by the wider index, and each cost every insert a
write in one more B-tree (pulled and pushed pages write tens of thousands of rows):

| dropped | covered by |
| --- | --- |
| ``ix_families_community_id`` | ``ix_families_community_name`` (community, surname, names) |
| ``ix_agreements_status`` | ``ix_dash_agreements_status`` (status, period, ...) |
| ``ix_agreement_commitments_agreement_id`` | the unique (agreement, commitment type) |
| ``ix_benefit_deliveries_family_date`` | ``ix_dash_deliveries_family`` (family, date, ...) |
| ``ix_compliance_visits_family_id`` | ``ix_dash_visits_family`` (family, date, ...) |
| ``ix_visit_findings_visit_id`` | the unique (visit, agreement commitment) |

Plain index statements, no batch mode (a batch migration would recreate the tables and drop
the dashboard's triggers on them).

Revision ID: 0009_covered_indexes
Revises: 0008_attendance_indexes
Create Date: 2026-11-26 03:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009_covered_indexes"
down_revision = "0008_attendance_indexes"
branch_labels = None
depends_on = None

#: (index, table, columns) as 0001 created them.
DROPPED = (
    ("ix_families_community_id", "families", ["community_id"]),
    ("ix_agreements_status", "agreements", ["status"]),
    ("ix_agreement_commitments_agreement_id", "agreement_commitments", ["agreement_id"]),
    ("ix_benefit_deliveries_family_date", "benefit_deliveries", ["family_id", "delivered_on"]),
    ("ix_compliance_visits_family_id", "compliance_visits", ["family_id"]),
    ("ix_visit_findings_visit_id", "visit_findings", ["visit_id"]),
)


def upgrade():
    for name, table, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns, unique=False)
