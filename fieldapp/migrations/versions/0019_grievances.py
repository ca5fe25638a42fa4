"""Grievances (issue 29): complaints tracked to an answer, with their step history.

- ``grievances``: a complaint from a family (or anonymous, with its community), its channel,
  category (a code of the configured ``GRIEVANCE_CATEGORIES``), description, one related
  record, the confidential flag (about staff), its status and due dates, who holds it, the
  answer, and the random token of its public status page.
- ``grievance_steps``: each step (received, acknowledged, under review, answered, appealed,
  closed, withdrawn) with who, when and a note; the confidential flag copied.

New tables only: nothing existing is rebuilt.

Revision ID: 0019_grievances
Revises: 0018_family_withdrawal
Create Date: 2026-12-07 15:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_grievances"
# The lead assigned 0016_family_merges; main has 0017_offline_drafts since, and two heads
# would stop every upgrade: chained on main's head (the lead re-chains at merge).
down_revision = "0018_family_withdrawal"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('grievances',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=True),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('related_kind', sa.String(length=20), nullable=True),
    sa.Column('related_id', sa.Uuid(), nullable=True),
    sa.Column('confidential', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('staff_username', sa.String(length=64), nullable=True),
    sa.Column('staff_name', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('acknowledge_due_on', sa.Date(), nullable=False),
    sa.Column('answer_due_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('assigned_username', sa.String(length=64), nullable=True),
    sa.Column('assigned_name', sa.String(length=120), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('action_taken', sa.Text(), nullable=True),
    sa.Column('answered_by_username', sa.String(length=64), nullable=True),
    sa.Column('answered_by_name', sa.String(length=120), nullable=True),
    sa.Column('first_answered_at', sa.DateTime(), nullable=True),
    sa.Column('first_answered_on', sa.Date(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('appealed_at', sa.DateTime(), nullable=True),
    sa.Column('first_answered_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closing_reason', sa.Text(), nullable=True),
    sa.Column('status_token', sa.String(length=32), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("channel IN ('in_person', 'phone', 'letter', 'suggestion_box', 'assembly')", name=op.f('ck_grievances_channel')),
    sa.CheckConstraint("related_kind IS NULL OR related_kind IN ('agreement', 'delivery', 'sanction', 'visit')", name=op.f('ck_grievances_related_kind')),
    sa.CheckConstraint("status IN ('received', 'acknowledged', 'under_review', 'answered', 'appealed', 'closed', 'withdrawn')", name=op.f('ck_grievances_status')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_grievances_community_id_communities')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_grievances_family_id_families')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievances')),
    sa.UniqueConstraint('code', name=op.f('uq_grievances_code')),
    sa.UniqueConstraint('status_token', name=op.f('uq_grievances_status_token'))
    )
    op.create_index(op.f('ix_grievances_community_id'), 'grievances', ['community_id'], unique=False)
    op.create_index(op.f('ix_grievances_family_id'), 'grievances', ['family_id'], unique=False)
    op.create_index('ix_grievances_status_due', 'grievances', ['status', 'due_on'], unique=False)
    op.create_table('grievance_steps',
    sa.Column('grievance_id', sa.Uuid(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by_username', sa.String(length=64), nullable=True),
    sa.Column('by_name', sa.String(length=120), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('confidential', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("step IN ('received', 'acknowledged', 'under_review', 'answered', 'appealed', 'closed', 'withdrawn')", name=op.f('ck_grievance_steps_step')),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_steps_grievance_id_grievances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_steps'))
    )
    op.create_index(op.f('ix_grievance_steps_grievance_id'), 'grievance_steps', ['grievance_id'], unique=False)


def downgrade():
    op.drop_index(op.f("ix_grievance_steps_grievance_id"), table_name="grievance_steps")
    op.drop_table("grievance_steps")
    op.drop_index("ix_grievances_status_due", table_name="grievances")
    op.drop_index(op.f("ix_grievances_family_id"), table_name="grievances")
    op.drop_index(op.f("ix_grievances_community_id"), table_name="grievances")
    op.drop_table("grievances")
