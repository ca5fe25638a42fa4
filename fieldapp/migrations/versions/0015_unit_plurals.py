"""Catalogue units in the singular and plural, in Spanish and English.

``benefit_types`` gets ``unit_one_es``, ``unit_other_es`` (required) and ``unit_one_en``,
``unit_other_en`` (optional), so a quantity is shown with its unit in the right number
("1 kit", "3 kits", "1 botiquín"). The program's default entries get the forms they ship with
(the same values as ``fieldapp.agreements.catalogue.BENEFITS``: central takes a node's default
entry only when it equals them); any other entry gets its ``default_unit`` as both Spanish
forms and no English forms (it is shown as typed until an admin writes them). Nothing else is
rewritten: agreements and deliveries keep their unit text (a signed agreement's content hash
covers it); the forms are applied when a page or a printout shows it.

Batch mode (SQLite rebuilds the table to make the Spanish columns NOT NULL).

Revision ID: 0015_unit_plurals
Revises: 0014_changes_removals
Create Date: 2026-12-07 13:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015_unit_plurals"
down_revision = "0014_changes_removals"
branch_labels = None
depends_on = None

#: The default catalogue's unit forms when this migration was written (frozen here: a later
#: change of the catalogue is a later migration).
DEFAULT_FORMS = {
    "coffee_training": ("sesión", "sesiones", "session", "sessions"),
    "technical_assistance": ("visita", "visitas", "visit", "visits"),
    "school_kits": ("kit", "kits", "kit", "kits"),
    "medical_kit": ("botiquín", "botiquines", "first-aid kit", "first-aid kits"),
    "coffee_seedlings": ("plantón", "plantones", "seedling", "seedlings"),
    "shade_seedlings": ("plantón", "plantones", "seedling", "seedlings"),
    "cookstove": ("unidad", "unidades", "unit", "units"),
}
COLUMNS = ("unit_one_es", "unit_other_es", "unit_one_en", "unit_other_en")


def upgrade():
    with op.batch_alter_table("benefit_types", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=30), nullable=True))

    benefit_types = sa.table("benefit_types", sa.column("code", sa.String),
                             sa.column("default_unit", sa.String),
                             *(sa.column(name, sa.String) for name in COLUMNS))
    op.execute(benefit_types.update().values(unit_one_es=benefit_types.c.default_unit,
                                             unit_other_es=benefit_types.c.default_unit))
    for code, forms in DEFAULT_FORMS.items():
        op.execute(benefit_types.update().where(benefit_types.c.code == code)
                   .values(dict(zip(COLUMNS, forms, strict=True))))

    with op.batch_alter_table("benefit_types", schema=None) as batch_op:
        batch_op.alter_column("unit_one_es", existing_type=sa.String(length=30), nullable=False)
        batch_op.alter_column("unit_other_es", existing_type=sa.String(length=30), nullable=False)


def downgrade():
    with op.batch_alter_table("benefit_types", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
