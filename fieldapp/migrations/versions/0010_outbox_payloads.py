"""Keep each outbox operation's payload in a table of its own.

A node marks every operation done once central acknowledged it. With the payload (the whole
operation as JSON, some 600 bytes) in the outbox row, each mark rewrote the operation too: 55 MB
of writes to the node's storage for the initial push of a program of 86,000 records, 0.3 s of
its CPU. In ``sync_outbox_payloads`` (one row per operation, same number; renumbered and deleted
with it) the outbox row that changes is some 100 bytes.

``ALTER TABLE ... DROP COLUMN`` on both databases (SQLite 3.35 and later rewrite the table in
place, keeping its indexes; no batch copy).

Revision ID: 0010_outbox_payloads
Revises: 0009_covered_indexes
Create Date: 2026-11-26 08:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010_outbox_payloads"
down_revision = "0009_covered_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sync_outbox_payloads",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["sync_outbox.seq"], name=op.f("fk_sync_outbox_payloads_seq_sync_outbox"),
            onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_outbox_payloads")),
    )
    op.execute("INSERT INTO sync_outbox_payloads (seq, payload) SELECT seq, payload FROM sync_outbox")
    op.execute("ALTER TABLE sync_outbox DROP COLUMN payload")


def downgrade():
    op.add_column("sync_outbox", sa.Column("payload", sa.Text(), nullable=True))
    op.execute("UPDATE sync_outbox SET payload = (SELECT p.payload FROM sync_outbox_payloads p "
               "WHERE p.seq = sync_outbox.seq)")
    with op.batch_alter_table("sync_outbox") as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=False)
    op.drop_table("sync_outbox_payloads")
