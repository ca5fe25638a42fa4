"""Dashboard speed: the summary tables keyed by staff member too.

Monthly sums (deliveries, visits, findings, trainings, promises, deliveries against promises)
get two more key columns, ``staff_id`` and ``staff_name``: who delivered, visited, trained or
drafted the agreement, as the records carry it (the zero UUID and "" when a record has no user
id or no name). The families figures per period are kept per staff member's case load too. So a
staff filter reads the summaries instead of the records. A new summary, ``dash_agreements``,
counts agreements per community, period, status and drafter (and those not renewed yet).

The tables hold derived data only: they are dropped and created again with the new key, and a
dirty mark (community NULL) makes the next dashboard view rebuild them from the records.

Revision ID: 0005_dashboard_speed
Revises: 0004_sync
Create Date: 2026-11-25 23:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_dashboard_speed"
down_revision = "0004_sync"
branch_labels = None
depends_on = None

_FIGURES = ("registered", "under_agreement", "active_agreement", "compliant", "non_compliant",
            "not_visited", "no_agreement", "received", "compliant_received", "attended", "visited")

#: Each summary table: (key columns, value columns), as of migration 0003.
_TABLES = {
    "dash_delivery_months": (
        [("community_id", sa.Uuid()), ("month", sa.String(7)), ("benefit_type_id", sa.Uuid())],
        [("deliveries", sa.Integer()), ("reversals", sa.Integer()),
         ("quantity", sa.Numeric(14, 2))],
    ),
    "dash_visit_months": (
        [("community_id", sa.Uuid()), ("month", sa.String(7))],
        [("visits", sa.Integer())],
    ),
    "dash_finding_months": (
        [("community_id", sa.Uuid()), ("month", sa.String(7)), ("commitment_type_id", sa.Uuid())],
        [(r, sa.Integer()) for r in ("met", "partial", "breached", "not_checked")],
    ),
    "dash_training_months": (
        [("community_id", sa.Uuid()), ("month", sa.String(7))],
        [("sessions", sa.Integer()), ("hours", sa.Numeric(10, 1)), ("attendance", sa.Integer())],
    ),
    "dash_promises": (
        [("community_id", sa.Uuid()), ("period_start", sa.Date()), ("period_end", sa.Date()),
         ("benefit_type_id", sa.Uuid())],
        [("promised", sa.Numeric(14, 2))],
    ),
    "dash_promise_deliveries": (
        [("community_id", sa.Uuid()), ("period_start", sa.Date()), ("period_end", sa.Date()),
         ("benefit_type_id", sa.Uuid()), ("month", sa.String(7))],
        [("quantity", sa.Numeric(14, 2))],
    ),
    "dash_period_figures": (
        [("asof", sa.Date()), ("month_from", sa.String(7)), ("month_to", sa.String(7)),
         ("community_id", sa.Uuid())],
        [(name, sa.Integer()) for name in _FIGURES],
    ),
}


#: Created by this migration (always with the staff key).
_NEW_TABLES = {
    "dash_agreements": (
        [("community_id", sa.Uuid()), ("period_start", sa.Date()), ("period_end", sa.Date()),
         ("status", sa.String(12))],
        [("agreements", sa.Integer()), ("unrenewed", sa.Integer())],
    ),
}


def _create(name: str, staff: bool) -> None:
    keys, values = {**_TABLES, **_NEW_TABLES}[name]
    if staff:
        keys = [*keys, ("staff_id", sa.Uuid()), ("staff_name", sa.String(120))]
    op.create_table(
        name,
        *[sa.Column(column, type_, nullable=False) for column, type_ in keys + values],
        sa.PrimaryKeyConstraint(*[column for column, _ in keys], name=op.f(f"pk_{name}")),
    )


def _recreate(staff: bool) -> None:
    for name in _TABLES:
        op.drop_table(name)
        _create(name, staff)
    # Derived data: everything is rebuilt from the records at the next dashboard view.
    op.execute("DELETE FROM dash_family_status")
    op.execute("DELETE FROM dash_status_built")
    op.execute("INSERT INTO dash_dirty (community_id) VALUES (NULL)")


def upgrade():
    _create("dash_agreements", staff=True)
    _recreate(staff=True)


def downgrade():
    op.drop_table("dash_agreements")
    _recreate(staff=False)
