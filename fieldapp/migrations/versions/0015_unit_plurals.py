"""Catalogue units in the singular and plural, in Spanish and English.

``benefit_types`` gets ``unit_one_es``, ``unit_other_es`` (required) and ``unit_one_en``,
``unit_other_en`` (optional), so a quantity is shown with its unit in the right number
("1 kit", "3 kits", "1 botiquín"). The program's default entries get the forms they ship with
(the same values as ``fieldapp.agreements.catalogue.BENEFITS``: central takes a node's default
entry only when it equals them); any other entry gets its ``default_unit`` as both Spanish
forms and no English forms (it is shown as typed until an admin writes them). Nothing else is
rewritten: agreements and deliveries keep their unit text (a signed agreement's content hash
covers it); the forms are applied when a page or a printout shows it.

The columns are added in place (no table rebuild: other tables point at ``benefit_types``);
the Spanish ones with a ``''`` default that PostgreSQL drops after the fill and SQLite keeps.
The downgrade drops the columns in place (SQLite 3.35+).

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
    # In place: batch mode adds a column with a plain ALTER on SQLite; a rebuild (which making
    # a column NOT NULL afterwards would take) drops ``benefit_types``, which deliveries and
    # agreement benefits point at, and fails with foreign keys on (as 0013 found for users).
    with op.batch_alter_table("benefit_types", schema=None) as batch_op:
        for name in COLUMNS:
            required = name.endswith("_es")
            batch_op.add_column(sa.Column(name, sa.String(length=30), nullable=not required,
                                          server_default="" if required else None))

    benefit_types = sa.table("benefit_types", sa.column("code", sa.String),
                             sa.column("default_unit", sa.String),
                             *(sa.column(name, sa.String) for name in COLUMNS))
    op.execute(benefit_types.update().values(unit_one_es=benefit_types.c.default_unit,
                                             unit_other_es=benefit_types.c.default_unit))
    for code, forms in DEFAULT_FORMS.items():
        op.execute(benefit_types.update().where(benefit_types.c.code == code)
                   .values(dict(zip(COLUMNS, forms, strict=True))))
    # PostgreSQL drops the temporary default; SQLite keeps it (it cannot drop one in place; the
    # app always writes both Spanish forms, see BenefitType).
    if op.get_bind().dialect.name != "sqlite":
        for name in ("unit_one_es", "unit_other_es"):
            op.alter_column("benefit_types", name, server_default=None,
                            existing_type=sa.String(length=30), existing_nullable=False)


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): no copy of a table other tables point at.
    for name in reversed(COLUMNS):
        op.drop_column("benefit_types", name)
