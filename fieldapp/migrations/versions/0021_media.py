"""Attachments: photos and scans as evidence of a record (issue 27).

``attachments``: one row per photo or scan — the record it belongs to (table and id) and its
family (the scope), kind, caption, the SHA-256 of the bytes (their name in the media store),
size, type and pixels of the decoded image, who attached it, and the capture time and place
when kept. Synced (append-only); the bytes travel apart.

``media_on_central``: on a node, the files central confirmed it holds (not asked about again).

A new table only: nothing existing is rebuilt.

Revision ID: 0021_media
Revises: 0020_api_tokens
Create Date: 2026-12-07 17:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0021_media"
down_revision = "0020_api_tokens"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachments",
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("owner_table", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("origin_node", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("voided", sa.Boolean(), server_default="0", nullable=False),
        sa.CheckConstraint("owner_table IN ('families', 'agreements', 'benefit_deliveries', 'compliance_visits')", name=op.f("ck_attachments_owner_table")),
        sa.CheckConstraint("kind IN ('photo', 'scan', 'receipt', 'evidence')", name=op.f("ck_attachments_kind")),
        sa.CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name=op.f("ck_attachments_lat_range")),
        sa.CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name=op.f("ck_attachments_lon_range")),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name=op.f("fk_attachments_family_id_families")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_family_id"), "attachments", ["family_id"], unique=False)
    op.create_index(op.f("ix_attachments_sha256"), "attachments", ["sha256"], unique=False)
    op.create_index("ix_attachments_owner", "attachments", ["owner_id", "created_at"], unique=False)
    op.create_table(
        "media_on_central",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media_on_central")),
    )


def downgrade():
    op.drop_table("media_on_central")
    op.drop_index("ix_attachments_owner", table_name="attachments")
    op.drop_index(op.f("ix_attachments_sha256"), table_name="attachments")
    op.drop_index(op.f("ix_attachments_family_id"), table_name="attachments")
    op.drop_table("attachments")
