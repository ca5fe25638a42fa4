"""Attendance: drop the two single-column indexes that other indexes already cover.

``ix_attendance_session_id`` is the first column of the unique (session, family) constraint's
index, and ``ix_attendance_family_id`` the first column of the dashboard's
``ix_dash_attendance_family`` (family, session, voided): every query they served is served as
well by those. Each one cost an attendance save a write in a different page per ticked family
(60 pages of the log for a 60-family sheet). Plain index statements, no batch mode (a batch
migration would recreate the table and drop the dashboard's trigger on it).

Revision ID: 0008_attendance_indexes
Revises: 0007_sync_catalogue_ids
Create Date: 2026-11-26 01:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008_attendance_indexes"
down_revision = "0007_sync_catalogue_ids"
branch_labels = None
depends_on = None


#: (index, table, columns) as 0001 created them.
DROPPED = (
    ("ix_attendance_session_id", "attendance", ["session_id"]),
    ("ix_attendance_family_id", "attendance", ["family_id"]),
)


def upgrade():
    for name, table, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns, unique=False)
