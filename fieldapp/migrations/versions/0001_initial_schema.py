"""Initial schema: the whole conservation-agreement cycle.

Timestamps are naive UTC (fieldapp.models.UTCDateTime adds the zone when read); every
constraint is named by the metadata's naming convention so batch mode can alter SQLite.

Revision ID: 0001_initial
Revises: (none)
Create Date: 2026-11-25 19:43:49.315649

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity_type', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_family_id'), ['family_id'], unique=False)

    op.create_table('benefit_types',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('name_es', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('default_unit', sa.String(length=30), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("category IN ('training', 'technical_assistance', 'educational_materials', 'medical_supplies', 'seedlings', 'cookstove', 'other')", name=op.f('ck_benefit_types_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_types')),
    sa.UniqueConstraint('code', name=op.f('uq_benefit_types_code'))
    )
    op.create_table('code_sequences',
    sa.Column('prefix', sa.String(length=40), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_code_sequences'))
    )
    op.create_table('commitment_types',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('text_es', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_types')),
    sa.UniqueConstraint('code', name=op.f('uq_commitment_types_code'))
    )
    op.create_table('communities',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('district', sa.String(length=80), nullable=True),
    sa.Column('province', sa.String(length=80), nullable=True),
    sa.Column('sector', sa.String(length=80), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint('lat IS NULL OR (lat >= -90 AND lat <= 90)', name=op.f('ck_communities_lat_range')),
    sa.CheckConstraint('lon IS NULL OR (lon >= -180 AND lon <= 180)', name=op.f('ck_communities_lon_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities')),
    sa.UniqueConstraint('code', name=op.f('uq_communities_code'))
    )
    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('login_failures',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_ip', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_login_failures'))
    )
    op.create_table('nodes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('enrol_code_hash', sa.String(length=255), nullable=True),
    sa.Column('enrol_expires_at', sa.DateTime(), nullable=True),
    sa.Column('credential_hash', sa.String(length=255), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('app_version', sa.String(length=20), nullable=True),
    sa.Column('schema_version', sa.String(length=40), nullable=True),
    sa.Column('pending_reported', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nodes')),
    sa.UniqueConstraint('code', name=op.f('uq_nodes_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('field_staff', 'coordinator', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('families',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('head_given_names', sa.String(length=120), nullable=False),
    sa.Column('head_surname', sa.String(length=120), nullable=False),
    sa.Column('dni', sa.String(length=8), nullable=True),
    sa.Column('members_count', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('plot_name', sa.String(length=120), nullable=True),
    sa.Column('plot_ha', sa.Double(), nullable=True),
    sa.Column('forest_ha', sa.Double(), nullable=True),
    sa.Column('coffee_ha', sa.Double(), nullable=True),
    sa.Column('data_consent', sa.Boolean(), nullable=False),
    sa.Column('consent_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('search_text', sa.String(length=400), server_default='', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("dni IS NULL OR (length(dni) = 8 AND replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(dni, '0', ''), '1', ''), '2', ''), '3', ''), '4', ''), '5', ''), '6', ''), '7', ''), '8', ''), '9', '') = '')", name=op.f('ck_families_dni_8_digits')),
    sa.CheckConstraint("status IN ('active', 'withdrawn')", name=op.f('ck_families_status')),
    sa.CheckConstraint('coffee_ha IS NULL OR coffee_ha >= 0', name=op.f('ck_families_coffee_ha')),
    sa.CheckConstraint('forest_ha IS NULL OR forest_ha >= 0', name=op.f('ck_families_forest_ha')),
    sa.CheckConstraint('lat IS NULL OR (lat >= -90 AND lat <= 90)', name=op.f('ck_families_lat_range')),
    sa.CheckConstraint('lon IS NULL OR (lon >= -180 AND lon <= 180)', name=op.f('ck_families_lon_range')),
    sa.CheckConstraint('members_count >= 1 AND members_count <= 50', name=op.f('ck_families_members_count')),
    sa.CheckConstraint('plot_ha IS NULL OR plot_ha >= 0', name=op.f('ck_families_plot_ha')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_families_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_families')),
    sa.UniqueConstraint('code', name=op.f('uq_families_code'))
    )
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_families_community_id'), ['community_id'], unique=False)
        batch_op.create_index('ix_families_community_name', ['community_id', 'head_surname', 'head_given_names'], unique=False)
        batch_op.create_index('ix_families_name', ['head_surname', 'head_given_names', 'code', 'search_text'], unique=False)
        batch_op.create_index(batch_op.f('ix_families_dni'), ['dni'], unique=False)

    op.create_table('node_communities',
    sa.Column('node_id', sa.Uuid(), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_node_communities_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_node_communities_node_id_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('node_id', 'community_id', name=op.f('pk_node_communities'))
    )
    op.create_table('training_sessions',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('trainer_name', sa.String(length=120), nullable=False),
    sa.Column('trainer_id', sa.Uuid(), nullable=True),
    sa.Column('place', sa.String(length=120), nullable=True),
    sa.Column('duration_hours', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint('duration_hours > 0 AND duration_hours <= 24', name=op.f('ck_training_sessions_duration_hours')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_training_sessions_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions')),
    sa.UniqueConstraint('code', name=op.f('uq_training_sessions_code'))
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_sessions_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_sessions_held_on'), ['held_on'], unique=False)

    op.create_table('user_communities',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_user_communities_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_communities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'community_id', name=op.f('pk_user_communities'))
    )
    op.create_table('agreements',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('signed_place', sa.String(length=120), nullable=True),
    sa.Column('signed_lat', sa.Double(), nullable=True),
    sa.Column('signed_lon', sa.Double(), nullable=True),
    sa.Column('signed_on_paper', sa.Boolean(), nullable=False),
    sa.Column('signed_content', sa.JSON(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_name', sa.String(length=120), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('conflict_flag', sa.String(length=40), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("kind IN ('original', 'amendment', 'renewal')", name=op.f('ck_agreements_kind')),
    sa.CheckConstraint("status IN ('draft', 'signed', 'active', 'suspended', 'completed', 'terminated', 'superseded')", name=op.f('ck_agreements_status')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_agreements_period_order')),
    sa.CheckConstraint('signed_lat IS NULL OR (signed_lat >= -90 AND signed_lat <= 90)', name=op.f('ck_agreements_signed_lat_range')),
    sa.CheckConstraint('signed_lon IS NULL OR (signed_lon >= -180 AND signed_lon <= 180)', name=op.f('ck_agreements_signed_lon_range')),
    sa.CheckConstraint('version_no >= 1', name=op.f('ck_agreements_version_no')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_agreements_family_id_families')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['agreements.id'], name=op.f('fk_agreements_supersedes_id_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('number', name=op.f('uq_agreements_number'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_supersedes_id'), ['supersedes_id'], unique=False)

    op.create_table('attendance',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('attendee_name', sa.String(length=120), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_attendance_family_id_families')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_attendance_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('session_id', 'family_id', name=op.f('uq_attendance_session_id_family_id'))
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_session_id'), ['session_id'], unique=False)

    op.create_table('agreement_benefits',
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('benefit_type_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('schedule', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_agreement_benefits_quantity_positive')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_benefits_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['benefit_type_id'], ['benefit_types.id'], name=op.f('fk_agreement_benefits_benefit_type_id_benefit_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_benefits'))
    )
    with op.batch_alter_table('agreement_benefits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_benefits_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_commitments',
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('commitment_type_id', sa.Uuid(), nullable=False),
    sa.Column('text_es', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_commitments_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['commitment_type_id'], ['commitment_types.id'], name=op.f('fk_agreement_commitments_commitment_type_id_commitment_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_commitments')),
    sa.UniqueConstraint('agreement_id', 'commitment_type_id', name=op.f('uq_agreement_commitments_agreement_id_commitment_type_id'))
    )
    with op.batch_alter_table('agreement_commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_commitments_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('benefit_deliveries',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('benefit_type_id', sa.Uuid(), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('delivered_by_id', sa.Uuid(), nullable=True),
    sa.Column('delivered_by_name', sa.String(length=120), nullable=False),
    sa.Column('receipt_kind', sa.String(length=20), nullable=False),
    sa.Column('reverses_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('over_promise_confirmed', sa.Boolean(), nullable=False),
    sa.Column('suspected_duplicate_of_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("receipt_kind IN ('signature', 'thumbprint_paper', 'none')", name=op.f('ck_benefit_deliveries_receipt_kind')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_benefit_deliveries_quantity_positive')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_benefit_deliveries_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['benefit_type_id'], ['benefit_types.id'], name=op.f('fk_benefit_deliveries_benefit_type_id_benefit_types')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_benefit_deliveries_family_id_families')),
    sa.ForeignKeyConstraint(['reverses_id'], ['benefit_deliveries.id'], name=op.f('fk_benefit_deliveries_reverses_id_benefit_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_deliveries')),
    sa.UniqueConstraint('code', name=op.f('uq_benefit_deliveries_code')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_benefit_deliveries_reverses_id'))
    )
    with op.batch_alter_table('benefit_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_deliveries_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_deliveries_benefit_type_id'), ['benefit_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_deliveries_delivered_on'), ['delivered_on'], unique=False)
        batch_op.create_index('ix_benefit_deliveries_family_date', ['family_id', 'delivered_on'], unique=False)

    op.create_table('compliance_visits',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('monitor_id', sa.Uuid(), nullable=True),
    sa.Column('monitor_name', sa.String(length=120), nullable=False),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint('lat IS NULL OR (lat >= -90 AND lat <= 90)', name=op.f('ck_compliance_visits_lat_range')),
    sa.CheckConstraint('lon IS NULL OR (lon >= -180 AND lon <= 180)', name=op.f('ck_compliance_visits_lon_range')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_compliance_visits_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_compliance_visits_family_id_families')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_visits')),
    sa.UniqueConstraint('code', name=op.f('uq_compliance_visits_code'))
    )
    with op.batch_alter_table('compliance_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_visits_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_visits_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_visits_visited_on'), ['visited_on'], unique=False)

    op.create_table('sanctions',
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('visit_id', sa.Uuid(), nullable=True),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_notes', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("level IN ('warning', 'reduced_benefits', 'suspension', 'termination')", name=op.f('ck_sanctions_level')),
    sa.CheckConstraint("status IN ('proposed', 'confirmed', 'dismissed')", name=op.f('ck_sanctions_status')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_sanctions_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_sanctions_family_id_families')),
    sa.ForeignKeyConstraint(['visit_id'], ['compliance_visits.id'], name=op.f('fk_sanctions_visit_id_compliance_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanctions'))
    )
    with op.batch_alter_table('sanctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanctions_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanctions_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanctions_status'), ['status'], unique=False)

    op.create_table('signatures',
    sa.Column('agreement_id', sa.Uuid(), nullable=True),
    sa.Column('delivery_id', sa.Uuid(), nullable=True),
    sa.Column('signer_role', sa.String(length=12), nullable=False),
    sa.Column('signer_name', sa.String(length=120), nullable=False),
    sa.Column('signer_dni', sa.String(length=8), nullable=True),
    sa.Column('image_png', sa.LargeBinary(), nullable=True),
    sa.Column('image_sha256', sa.String(length=64), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('place', sa.String(length=120), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("signer_role IN ('family', 'staff', 'witness', 'receipt')", name=op.f('ck_signatures_signer_role')),
    sa.CheckConstraint('(agreement_id IS NOT NULL AND delivery_id IS NULL) OR (agreement_id IS NULL AND delivery_id IS NOT NULL)', name=op.f('ck_signatures_one_parent')),
    sa.CheckConstraint('lat IS NULL OR (lat >= -90 AND lat <= 90)', name=op.f('ck_signatures_lat_range')),
    sa.CheckConstraint('lon IS NULL OR (lon >= -180 AND lon <= 180)', name=op.f('ck_signatures_lon_range')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_signatures_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['delivery_id'], ['benefit_deliveries.id'], name=op.f('fk_signatures_delivery_id_benefit_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signatures_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('visit_findings',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('agreement_commitment_id', sa.Uuid(), nullable=False),
    sa.Column('result', sa.String(length=12), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("result IN ('met', 'partial', 'breached', 'not_checked')", name=op.f('ck_visit_findings_result')),
    sa.ForeignKeyConstraint(['agreement_commitment_id'], ['agreement_commitments.id'], name=op.f('fk_visit_findings_agreement_commitment_id_agreement_commitments')),
    sa.ForeignKeyConstraint(['visit_id'], ['compliance_visits.id'], name=op.f('fk_visit_findings_visit_id_compliance_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_findings')),
    sa.UniqueConstraint('visit_id', 'agreement_commitment_id', name=op.f('uq_visit_findings_visit_id_agreement_commitment_id'))
    )
    with op.batch_alter_table('visit_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_findings_visit_id'), ['visit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('visit_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_findings_visit_id'))

    op.drop_table('visit_findings')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_delivery_id'))
        batch_op.drop_index(batch_op.f('ix_signatures_agreement_id'))

    op.drop_table('signatures')
    with op.batch_alter_table('sanctions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sanctions_status'))
        batch_op.drop_index(batch_op.f('ix_sanctions_family_id'))
        batch_op.drop_index(batch_op.f('ix_sanctions_agreement_id'))

    op.drop_table('sanctions')
    with op.batch_alter_table('compliance_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_visits_visited_on'))
        batch_op.drop_index(batch_op.f('ix_compliance_visits_family_id'))
        batch_op.drop_index(batch_op.f('ix_compliance_visits_agreement_id'))

    op.drop_table('compliance_visits')
    with op.batch_alter_table('benefit_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_deliveries_family_date')
        batch_op.drop_index(batch_op.f('ix_benefit_deliveries_delivered_on'))
        batch_op.drop_index(batch_op.f('ix_benefit_deliveries_benefit_type_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_deliveries_agreement_id'))

    op.drop_table('benefit_deliveries')
    with op.batch_alter_table('agreement_commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_commitments_agreement_id'))

    op.drop_table('agreement_commitments')
    with op.batch_alter_table('agreement_benefits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_benefits_agreement_id'))

    op.drop_table('agreement_benefits')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_session_id'))
        batch_op.drop_index(batch_op.f('ix_attendance_family_id'))

    op.drop_table('attendance')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_supersedes_id'))
        batch_op.drop_index(batch_op.f('ix_agreements_status'))
        batch_op.drop_index(batch_op.f('ix_agreements_family_id'))
        batch_op.drop_index(batch_op.f('ix_agreements_content_hash'))

    op.drop_table('agreements')
    op.drop_table('user_communities')
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_sessions_held_on'))
        batch_op.drop_index(batch_op.f('ix_training_sessions_community_id'))

    op.drop_table('training_sessions')
    op.drop_table('node_communities')
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_families_dni'))
        batch_op.drop_index('ix_families_community_name')
        batch_op.drop_index('ix_families_name')
        batch_op.drop_index(batch_op.f('ix_families_community_id'))

    op.drop_table('families')
    op.drop_table('users')
    op.drop_table('nodes')
    op.drop_table('login_failures')
    op.drop_table('idempotency_keys')
    op.drop_table('communities')
    op.drop_table('commitment_types')
    op.drop_table('code_sequences')
    op.drop_table('benefit_types')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_family_id'))
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
