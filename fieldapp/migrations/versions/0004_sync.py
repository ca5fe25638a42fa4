"""Sync: the engine's bookkeeping tables and the nodes' sync facts.

Both roles get every table (a node uses the outbox, central the change log, node state,
conflicts and aliases; both use state, quarantine and log). ``sync_state`` starts with the
counters: ``node_seq`` (a node's operation numbers), ``server_seq`` (central's change numbers,
whose row lock orders commits), ``cursor`` (a node's pull position) and ``acked_seq``.
Timestamps are naive UTC like the rest of the schema.

Revision ID: 0004_sync
Revises: 0003_dashboard
Create Date: 2026-11-25 20:05:45.993613

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004_sync"
down_revision = "0003_dashboard"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_aliases',
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('alias_id', sa.Uuid(), nullable=False),
    sa.Column('canonical_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('table_name', 'alias_id', name=op.f('pk_sync_aliases'))
    )
    op.create_table('sync_changes',
    sa.Column('server_seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.Uuid(), nullable=False),
    sa.Column('op', sa.String(length=1), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=True),
    sa.Column('community_id2', sa.Uuid(), nullable=True),
    sa.Column('node_id', sa.Uuid(), nullable=True),
    sa.Column('node_seq', sa.BigInteger(), nullable=True),
    sa.Column('echo', sa.Boolean(), nullable=False),
    sa.Column('op_digest', sa.String(length=32), nullable=True),
    sa.Column('committed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('server_seq', name=op.f('pk_sync_changes')),
    sa.UniqueConstraint('node_id', 'node_seq', name=op.f('uq_sync_changes_node_id_node_seq'))
    )
    op.create_table('sync_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.Uuid(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('other_row_id', sa.Uuid(), nullable=True),
    sa.Column('central_value', sa.JSON(), nullable=True),
    sa.Column('node_value', sa.JSON(), nullable=True),
    sa.Column('base_value', sa.JSON(), nullable=True),
    sa.Column('node_id', sa.Uuid(), nullable=True),
    sa.Column('node_seq', sa.BigInteger(), nullable=True),
    sa.Column('community_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflicts'))
    )
    with op.batch_alter_table('sync_conflicts', schema=None) as batch_op:
        batch_op.create_index('ix_sync_conflicts_status', ['status', 'table_name', 'row_id'], unique=False)

    op.create_table('sync_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('node_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_log'))
    )
    with op.batch_alter_table('sync_log', schema=None) as batch_op:
        batch_op.create_index('ix_sync_log_node', ['node_id', 'id'], unique=False)

    op.create_table('sync_node_state',
    sa.Column('node_id', sa.Uuid(), nullable=False),
    sa.Column('last_applied_seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_sync_node_state'))
    )
    op.create_table('sync_outbox',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.Uuid(), nullable=False),
    sa.Column('op', sa.String(length=1), nullable=False),
    sa.Column('captured_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_sync_outbox'))
    )
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_sync_outbox_row', ['table_name', 'row_id'], unique=False)
        batch_op.create_index('ix_sync_outbox_status_seq', ['status', 'seq'], unique=False)

    op.create_table('sync_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('node_id', sa.Uuid(), nullable=True),
    sa.Column('node_seq', sa.BigInteger(), nullable=True),
    sa.Column('op_digest', sa.String(length=32), nullable=True),
    sa.Column('table_name', sa.String(length=64), nullable=True),
    sa.Column('row_id', sa.Uuid(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_quarantine'))
    )
    with op.batch_alter_table('sync_quarantine', schema=None) as batch_op:
        batch_op.create_index('ix_sync_quarantine_node', ['node_id', 'node_seq'], unique=False)

    op.create_table('sync_state',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sync_state'))
    )
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('all_communities', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('quarantined_reported', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('clock_skew_s', sa.Integer(), nullable=True))

    state = sa.table('sync_state', sa.column('key', sa.String), sa.column('value', sa.BigInteger))
    op.bulk_insert(state, [{'key': key, 'value': 0}
                           for key in ('node_seq', 'server_seq', 'cursor', 'acked_seq')])



def downgrade():
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('clock_skew_s')
        batch_op.drop_column('quarantined_reported')
        batch_op.drop_column('last_error_code')
        batch_op.drop_column('all_communities')

    op.drop_table('sync_state')
    with op.batch_alter_table('sync_quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_quarantine_node')

    op.drop_table('sync_quarantine')
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_outbox_status_seq')
        batch_op.drop_index('ix_sync_outbox_row')

    op.drop_table('sync_outbox')
    op.drop_table('sync_node_state')
    with op.batch_alter_table('sync_log', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_log_node')

    op.drop_table('sync_log')
    with op.batch_alter_table('sync_conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_conflicts_status')

    op.drop_table('sync_conflicts')
    op.drop_table('sync_changes')
    op.drop_table('sync_aliases')
