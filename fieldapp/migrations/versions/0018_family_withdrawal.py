"""Family withdrawal: the family name index also holds ``status``; merged families indexed.

The family list shows the families in the program (status ``active``) and, behind a filter,
those that left it (``withdrawn``); with ``status`` in the name index (which already holds the
search text and ``voided``) the list's count still reads the index alone instead of every family
row. Plain index statements, no batch mode: a batch migration of ``families`` would recreate the
table and drop the dashboard's triggers on it.

``ix_families_merged_into_id``: a survivor's page lists the families merged into it (to undo a
merge) without reading every family.

Revision ID: 0018_family_withdrawal
Revises: 0017_offline_drafts
Create Date: 2026-12-07 14:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0018_family_withdrawal"
down_revision = "0017_offline_drafts"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_families_name", table_name="families")
    op.create_index("ix_families_name", "families",
                    ["head_surname", "head_given_names", "code", "search_text", "voided",
                     "status"],
                    unique=False)
    op.create_index("ix_families_merged_into_id", "families", ["merged_into_id"], unique=False)


def downgrade():
    op.drop_index("ix_families_merged_into_id", table_name="families")
    op.drop_index("ix_families_name", table_name="families")
    op.create_index("ix_families_name", "families",
                    ["head_surname", "head_given_names", "code", "search_text", "voided"],
                    unique=False)
