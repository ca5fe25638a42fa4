"""Dashboard: summary tables (monthly sums per community, family status per day, figures per
period), dirty marks, and covering indexes on the records the dashboard reads.

Derived data only (never synced). The marking triggers are installed and checked by the app
(fieldapp.dashboard.triggers), because a SQLite batch migration of a source table drops them;
the downgrade removes them. The first mark (community NULL = everything) makes the first
dashboard view build every summary from the records.

Revision ID: 0003_dashboard
Revises: 0002_printing
Create Date: 2026-11-25 20:19:41.286818

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003_dashboard"
down_revision = "0002_printing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dash_delivery_months',
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('benefit_type_id', sa.Uuid(), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('reversals', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'month', 'benefit_type_id', name=op.f('pk_dash_delivery_months'))
    )
    op.create_table('dash_dirty',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dash_dirty'))
    )
    with op.batch_alter_table('dash_dirty', schema=None) as batch_op:
        batch_op.create_index('ix_dash_dirty_community_id', ['community_id'], unique=False)

    op.create_table('dash_family_status',
    sa.Column('asof', sa.Date(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('in_force', sa.Integer(), nullable=False),
    sa.Column('has_active', sa.Integer(), nullable=False),
    sa.Column('agreement_number', sa.String(length=40), nullable=True),
    sa.Column('agreement_status', sa.String(length=12), nullable=True),
    sa.Column('last_visit_on', sa.Date(), nullable=True),
    sa.Column('sanctions_in_force', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('asof', 'family_id', name=op.f('pk_dash_family_status'))
    )
    with op.batch_alter_table('dash_family_status', schema=None) as batch_op:
        batch_op.create_index('ix_dash_family_status_asof_community', ['asof', 'community_id'], unique=False)

    op.create_table('dash_finding_months',
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('commitment_type_id', sa.Uuid(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.Column('partial', sa.Integer(), nullable=False),
    sa.Column('breached', sa.Integer(), nullable=False),
    sa.Column('not_checked', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'month', 'commitment_type_id', name=op.f('pk_dash_finding_months'))
    )
    op.create_table('dash_period_figures',
    sa.Column('asof', sa.Date(), nullable=False),
    sa.Column('month_from', sa.String(length=7), nullable=False),
    sa.Column('month_to', sa.String(length=7), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.Column('under_agreement', sa.Integer(), nullable=False),
    sa.Column('active_agreement', sa.Integer(), nullable=False),
    sa.Column('compliant', sa.Integer(), nullable=False),
    sa.Column('non_compliant', sa.Integer(), nullable=False),
    sa.Column('not_visited', sa.Integer(), nullable=False),
    sa.Column('no_agreement', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('compliant_received', sa.Integer(), nullable=False),
    sa.Column('attended', sa.Integer(), nullable=False),
    sa.Column('visited', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('asof', 'month_from', 'month_to', 'community_id', name=op.f('pk_dash_period_figures'))
    )
    op.create_table('dash_promise_deliveries',
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('benefit_type_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'period_start', 'period_end', 'benefit_type_id', 'month', name=op.f('pk_dash_promise_deliveries'))
    )
    op.create_table('dash_promises',
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('benefit_type_id', sa.Uuid(), nullable=False),
    sa.Column('promised', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'period_start', 'period_end', 'benefit_type_id', name=op.f('pk_dash_promises'))
    )
    op.create_table('dash_status_built',
    sa.Column('asof', sa.Date(), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('asof', 'community_id', name=op.f('pk_dash_status_built'))
    )
    op.create_table('dash_training_months',
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=10, scale=1), nullable=False),
    sa.Column('attendance', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'month', name=op.f('pk_dash_training_months'))
    )
    op.create_table('dash_visit_months',
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'month', name=op.f('pk_dash_visit_months'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index('ix_dash_agreements_lookup', ['id', 'status', 'period_start', 'period_end', 'voided', 'family_id'], unique=False)
        batch_op.create_index('ix_dash_agreements_status', ['status', 'period_end', 'period_start', 'voided', 'family_id', 'number', 'id'], unique=False)

    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index('ix_dash_attendance_family', ['family_id', 'session_id', 'voided'], unique=False)

    with op.batch_alter_table('benefit_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_dash_deliveries_family', ['family_id', 'delivered_on', 'reverses_id', 'voided', 'id'], unique=False)
        batch_op.create_index('ix_dash_deliveries_reverses', ['reverses_id', 'voided'], unique=False)

    with op.batch_alter_table('compliance_visits', schema=None) as batch_op:
        batch_op.create_index('ix_dash_visits_family', ['family_id', 'visited_on', 'voided', 'agreement_id'], unique=False)

    op.execute("INSERT INTO dash_dirty (community_id) VALUES (NULL)")


def _drop_marking_triggers():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        names = bind.execute(
            sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :p"),
            {"p": "dash_mark_%"},
        ).scalars().all()
        for name in names:
            op.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    elif bind.dialect.name == "postgresql":
        names = bind.execute(
            sa.text("SELECT proname FROM pg_proc WHERE proname LIKE :p"), {"p": "dash_mark_%"}
        ).scalars().all()
        for name in names:
            op.execute(f'DROP FUNCTION IF EXISTS "{name}"() CASCADE')


def downgrade():
    _drop_marking_triggers()
    with op.batch_alter_table('compliance_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_visits_family')

    with op.batch_alter_table('benefit_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_deliveries_reverses')
        batch_op.drop_index('ix_dash_deliveries_family')

    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_attendance_family')

    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_agreements_status')
        batch_op.drop_index('ix_dash_agreements_lookup')

    op.drop_table('dash_visit_months')
    op.drop_table('dash_training_months')
    op.drop_table('dash_status_built')
    op.drop_table('dash_promises')
    op.drop_table('dash_promise_deliveries')
    op.drop_table('dash_period_figures')
    op.drop_table('dash_finding_months')
    with op.batch_alter_table('dash_family_status', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_family_status_asof_community')

    op.drop_table('dash_family_status')
    with op.batch_alter_table('dash_dirty', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_dirty_community_id')

    op.drop_table('dash_dirty')
    op.drop_table('dash_delivery_months')
