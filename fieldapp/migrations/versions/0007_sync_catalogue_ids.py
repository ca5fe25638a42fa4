"""Sync: catalogue entries take the id of their code, the same on every installation.

Commitment and benefit types were seeded with random ids on each installation, so two field
nodes that seeded their own catalogues sent central two records with the same code (the second
refused as a duplicate, and every record referring to it with it). From now on a catalogue
entry's id is ``uuid5(namespace, "<table>:<code>")`` (``fieldapp.nodes.syncing.catalogue_id``);
this migration gives existing entries that id. It runs the same way on central and on every
node (central accepts only nodes at its own schema version), so all installations agree
without sending anything.

For each entry whose id differs: a copy under the new id (with a placeholder code, the code is
unique), every reference moved to it (foreign keys found by reflection, the audit log's entity
ids, the sync engine's bookkeeping: outbox payloads, change log, conflicts, quarantine), the old
row deleted, the code put back. Foreign keys stay enforced throughout (PostgreSQL's are not
deferrable). The dashboard's summaries are marked for a full rebuild.

Revision ID: 0007_sync_catalogue_ids
Revises: 0006_pages_speed
Create Date: 2026-11-25 23:10:00

"""
import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_sync_catalogue_ids"
down_revision = "0006_pages_speed"
branch_labels = None
depends_on = None

#: A copy of fieldapp.nodes.syncing.CATALOGUE_NAMESPACE as it was when this migration shipped.
NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e08-9a61-2d4c8f0b7e13")
TABLES = ("commitment_types", "benefit_types")


def _references(inspector, table):
    """(table, column) of every foreign key pointing at ``table``.id."""
    out = []
    for other in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(other):
            if fk["referred_table"] == table and fk["referred_columns"] == ["id"]:
                out.extend((other, col) for col in fk["constrained_columns"])
    return out


def _ids(name, *columns):
    """A lightweight table whose listed columns are UUIDs (stored as the app stores them)."""
    return sa.table(name, *[sa.column(c, sa.Uuid()) for c in columns])


def upgrade():
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    names = set(inspector.get_table_names())
    for name in TABLES:
        refs = _references(inspector, name)
        columns = [c["name"] for c in inspector.get_columns(name)]
        others = [c for c in columns if c not in ("id", "code")]
        table = sa.table(name, sa.column("id", sa.Uuid()), sa.column("code", sa.String()))
        # Table and column names come from the database's own catalogue, never from input.
        copy = sa.text(
            f"INSERT INTO {name} (id, code, {', '.join(others)}) "  # noqa: S608
            f"SELECT :new, :placeholder, {', '.join(others)} FROM {name} WHERE id = :old"
        ).bindparams(sa.bindparam("new", type_=sa.Uuid()), sa.bindparam("old", type_=sa.Uuid()))
        for old, code in bind.execute(sa.select(table.c.id, table.c.code)).all():
            new = uuid.uuid5(NAMESPACE, f"{name}:{code}")
            if old == new:
                continue
            bind.execute(copy, {"new": new, "old": old, "placeholder": f"~{new.hex[:30]}"})
            for other, col in refs:
                t = _ids(other, col)
                bind.execute(sa.update(t).where(t.c[col] == old).values({col: new}))
            bind.execute(sa.delete(table).where(table.c.id == old))
            bind.execute(sa.update(table).where(table.c.id == new).values(code=code))
            _move_bookkeeping(bind, names, old, new)
    if "dash_dirty" in names:
        bind.execute(sa.text("INSERT INTO dash_dirty (community_id) VALUES (NULL)"))


def _move_bookkeeping(bind, names, old, new):
    """References that are not foreign keys: audit entries, the sync engine's own tables."""
    if "audit_log" in names:
        audit = _ids("audit_log", "entity_id")
        bind.execute(sa.update(audit).where(audit.c.entity_id == old).values(entity_id=new))
    if "sync_outbox" not in names:
        return
    for name, columns in (("sync_outbox", ("row_id",)), ("sync_changes", ("row_id",)),
                          ("sync_conflicts", ("row_id", "other_row_id")),
                          ("sync_quarantine", ("row_id",))):
        t = _ids(name, *columns)
        for col in columns:
            bind.execute(sa.update(t).where(t.c[col] == old).values({col: new}))
    # Operations were frozen with the old id in their JSON (as the row's id or as a
    # reference): they are sent (or shown) with the new one. A UUID's text is never by chance.
    for name in ("sync_outbox", "sync_quarantine"):
        t = sa.table(name, sa.column("payload", sa.Text()))
        bind.execute(sa.update(t).where(t.c.payload.contains(str(old))).values(
            payload=sa.func.replace(t.c.payload, str(old), str(new))))


def downgrade():
    # The old ids were random: nothing to go back to. The new ids are as good on the old
    # schema (same columns), so there is nothing to undo.
    pass
