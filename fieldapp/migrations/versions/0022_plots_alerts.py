"""Plots as shapes and deforestation alerts (issue 28).

- ``plots``: a family's pieces of land (several per family), each with its declared hectares
  and current boundary (GeoJSON polygon, WGS84), the GPS accuracy of its points, its geodesic
  area and the review flag (measured and declared areas far apart). Synced in the family's
  community.
- ``plot_boundaries``: every boundary a plot has had (append-only history, synced).
- ``alerts``: deforestation alerts imported on central (not synced), by natural key.
- ``alert_checks``: an alert to verify on a plot under agreement, assigned to its community
  (synced), answered by a compliance visit.

New tables only: nothing existing is rebuilt.

Revision ID: 0022_plots_alerts
Revises: 0021_media
Create Date: 2026-12-07 17:28:33

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022_plots_alerts'
down_revision = '0021_media'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=False),
    sa.Column('confidence', sa.String(length=20), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('area_ha', sa.Double(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('key', name=op.f('uq_alerts_key'))
    )
    op.create_table('plots',
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('declared_ha', sa.Double(), nullable=True),
    sa.Column('boundary', sa.JSON(), nullable=True),
    sa.Column('accuracies', sa.JSON(), nullable=True),
    sa.Column('area_ha', sa.Double(), nullable=True),
    sa.Column('method', sa.String(length=12), nullable=True),
    sa.Column('area_review', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('repair_note', sa.Text(), nullable=True),
    sa.Column('boundary_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("method IS NULL OR method IN ('walk', 'vertices', 'geojson')", name=op.f('ck_plots_method')),
    sa.CheckConstraint('area_ha IS NULL OR area_ha >= 0', name=op.f('ck_plots_area_ha')),
    sa.CheckConstraint('declared_ha IS NULL OR declared_ha >= 0', name=op.f('ck_plots_declared_ha')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_plots_family_id_families')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plots'))
    )
    with op.batch_alter_table('plots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plots_family_id'), ['family_id'], unique=False)

    op.create_table('plot_boundaries',
    sa.Column('plot_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('boundary', sa.JSON(), nullable=False),
    sa.Column('accuracies', sa.JSON(), nullable=True),
    sa.Column('area_ha', sa.Double(), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('repair_note', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("method IN ('walk', 'vertices', 'geojson')", name=op.f('ck_plot_boundaries_method')),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.id'], name=op.f('fk_plot_boundaries_plot_id_plots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plot_boundaries')),
    sa.UniqueConstraint('plot_id', 'number', 'origin_node', name=op.f('uq_plot_boundaries_plot_id_number_origin_node'))
    )
    op.create_table('alert_checks',
    sa.Column('alert_key', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('plot_id', sa.Uuid(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=False),
    sa.Column('confidence', sa.String(length=20), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('distance_m', sa.Double(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='open', nullable=False),
    sa.Column('answer', sa.String(length=12), nullable=True),
    sa.Column('cleared_ha', sa.Double(), nullable=True),
    sa.Column('visit_id', sa.Uuid(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('voided', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("answer IS NULL OR answer IN ('confirmed', 'false_alarm', 'outside')", name=op.f('ck_alert_checks_answer')),
    sa.CheckConstraint("status IN ('open', 'answered')", name=op.f('ck_alert_checks_status')),
    sa.CheckConstraint('cleared_ha IS NULL OR cleared_ha >= 0', name=op.f('ck_alert_checks_cleared_ha')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_alert_checks_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_alert_checks_community_id_communities')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_alert_checks_family_id_families')),
    sa.ForeignKeyConstraint(['plot_id'], ['plots.id'], name=op.f('fk_alert_checks_plot_id_plots')),
    sa.ForeignKeyConstraint(['visit_id'], ['compliance_visits.id'], name=op.f('fk_alert_checks_visit_id_compliance_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_checks')),
    sa.UniqueConstraint('alert_key', 'plot_id', name=op.f('uq_alert_checks_alert_key_plot_id'))
    )
    with op.batch_alter_table('alert_checks', schema=None) as batch_op:
        batch_op.create_index('ix_alert_checks_community_status', ['community_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_checks_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_checks_plot_id'), ['plot_id'], unique=False)



def downgrade():
    with op.batch_alter_table('alert_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_checks_plot_id'))
        batch_op.drop_index(batch_op.f('ix_alert_checks_family_id'))
        batch_op.drop_index('ix_alert_checks_community_status')

    op.drop_table('alert_checks')
    op.drop_table('plot_boundaries')
    with op.batch_alter_table('plots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plots_family_id'))

    op.drop_table('plots')
    op.drop_table('alerts')
