"""Pieces of the dashboard's figures shared by every way of computing them: JSON numbers, totals,
benefit and commitment rows, and the sanctions (read from the records: a handful of rows).

The figures themselves are read from the summary tables (:mod:`.summaries`); the tests hold
those to the same figures computed from the records (tests/dashboard_direct.py) and in plain
Python (tests/dashboard_expected.py). Definitions live in :mod:`.status` and in
docs/using/dashboard.en.md ("Definitions").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import (
    Agreement,
    BenefitType,
)
from fieldapp.compliance.models import SANCTION_LEVELS, Sanction
from fieldapp.dashboard.conditions import (
    drafted_by_staff,
    family_conditions,
)
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.status import (
    STATUSES,
    sanction_in_force,
)
from fieldapp.extensions import db
from fieldapp.families.models import Family


def num(value: Any) -> int | float:
    """A JSON-friendly number: integers stay integers."""
    if value is None:
        return 0
    if isinstance(value, Decimal | float):
        return int(value) if value == int(value) else round(float(value), 2)
    return int(value)


#: The families figures of a community (columns of the per-community rows and their summary).
FIGURES = (
    "registered",
    "under_agreement",
    "active_agreement",
    *STATUSES,
    "received",
    "compliant_received",
    "attended",
    "visited",
)


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Column sums of the per-community rows (:func:`.summaries.families_by_community`)."""
    return {k: sum(int(r[k]) for r in rows) for k in FIGURES}


def merge_benefits(
    promised: dict[Any, Any], against: dict[Any, Any], in_period: dict[Any, Any], locale: str
) -> list[dict[str, Any]]:
    """One row per benefit type of the catalogue that has figures (a handful of rows)."""
    types = db.session.execute(
        select(BenefitType).where(BenefitType.voided.is_(False)).order_by(BenefitType.position)
    ).scalars()
    out = []
    for bt in types:
        row = in_period.get(bt.id)
        if bt.id not in promised and row is None and bt.id not in against:
            continue
        out.append(
            {
                "code": bt.code,
                "name": bt.name(locale),
                "category": bt.category,
                "unit": bt.default_unit,
                "promised": num(promised.get(bt.id)),
                "delivered_to_date": num(against.get(bt.id)),
                "delivered_in_period": num(row.quantity if row else 0),
                "deliveries_in_period": num(row.deliveries if row else 0),
            }
        )
    return out


def commitment_row(row: Any, locale: str) -> dict[str, Any]:
    """A commitment's finding counts and its compliance rate (met over checked)."""
    counts = {r: int(getattr(row, r) or 0) for r in ("met", "partial", "breached", "not_checked")}
    checked = counts["met"] + counts["partial"] + counts["breached"]
    return {
        "code": row.code,
        "text": row.text_en if locale.startswith("en") else row.text_es,
        **counts,
        "rate": round(100 * counts["met"] / checked, 1) if checked else None,
    }


def sanctions(f: Filters) -> dict[str, Any]:
    """Sanctions in force on the snapshot day by level, and proposals awaiting a decision."""
    scope = family_conditions(f)
    by_level = dict(
        db.session.execute(
            select(Sanction.level, func.count())
            .join(Agreement, Agreement.id == Sanction.agreement_id)
            .join(Family, Family.id == Sanction.family_id)
            .where(sanction_in_force(f), *scope)
            .group_by(Sanction.level)
        ).all()
    )
    proposed = db.session.scalar(
        select(func.count())
        .select_from(Sanction)
        .join(Family, Family.id == Sanction.family_id)
        .where(
            Sanction.voided.is_(False),
            Sanction.status == "proposed",
            Sanction.created_at < f.asof_end_at,
            *scope,
        )
    )
    in_force = {level: int(by_level.get(level, 0)) for level in SANCTION_LEVELS}
    return {
        "in_force": in_force,
        "in_force_total": sum(in_force.values()),
        "proposed": int(proposed or 0),
    }


def merged_duplicates(f: Filters) -> int:
    """Families found registered twice and merged in the period (each merge leaves one family
    counted, the survivor; the other is a tombstone, never counted): the tombstones whose merge
    (their last change: a tombstone is never edited again) falls in the period, narrowed by the
    community of the family that stayed, and by the staff member's case load."""
    survivor = aliased(Family, name="survivor")
    conditions = [
        Family.merged_into_id.is_not(None),
        Family.updated_at >= f.start_at,
        Family.updated_at < f.end_at,
    ]
    if f.community_id is not None:
        conditions.append(survivor.community_id == f.community_id)
    if f.staff_id is not None:
        conditions.append(survivor.id.in_(drafted_by_staff(f)))
    return int(db.session.scalar(
        select(func.count()).select_from(Family)
        .join(survivor, survivor.id == Family.merged_into_id)
        .where(*conditions)) or 0)
