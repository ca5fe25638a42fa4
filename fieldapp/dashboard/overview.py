"""The dashboard at a glance: every figure for a selection in one JSON-ready mapping.

:func:`summary` reads the summary tables (:mod:`.summaries`, kept current by :mod:`.rollups`):
one implementation of each figure in production. The tests hand it another source of the same
figures, computed from the records (tests/dashboard_direct.py), as the reference the tables are
held to. The page, its charts, the JSON answer and the donor PDF all show it;
:func:`filter_choices` gives the communities and staff members the filter form offers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import select

from fieldapp.auth.models import User
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.queries import merged_duplicates, sanctions, totals
from fieldapp.extensions import db


def summary(f: Filters, locale: str = "es", figures: Any = None) -> dict[str, Any]:
    """All the dashboard's figures for the selection, JSON-ready.

    :param figures: where the figures come from: the summary tables (:mod:`.summaries`,
        brought up to date first) unless a test passes another module with the same functions
        (``families_by_community``, ``agreements_by_status``, ``renewals_due``, ``benefits``,
        ``delivery_counts``, ``training_counts``, ``visit_count``,
        ``compliance_by_commitment``, ``trend``).
    """
    if figures is None:
        from fieldapp.dashboard import rollups, summaries

        rollups.refresh(f)
        figures = summaries
    by_community = figures.families_by_community(f)
    total = totals(by_community)
    verified = total["compliant"] + total["non_compliant"]
    registered, under = total["registered"], total["under_agreement"]
    return {
        "filters": {
            "from": f"{f.date_from:%Y-%m}",
            "to": f"{f.date_to:%Y-%m}",
            "asof": f.asof.isoformat(),
            "community": str(f.community_id) if f.community_id else None,
            "staff": str(f.staff_id) if f.staff_id else None,
        },
        "target_families": int(current_app.config.get("PROGRAM_TARGET_FAMILIES") or 0),
        "families": total
        | {
            "compliance_rate": round(100 * total["compliant"] / verified, 1) if verified else None,
        },
        "by_community": [
            {k: (str(v) if k == "id" else v) for k, v in row.items()} for row in by_community
        ],
        "agreements_by_status": figures.agreements_by_status(f),
        "renewals_due": figures.renewals_due(f),
        "benefits": figures.benefits(f, locale),
        "deliveries": figures.delivery_counts(f) | {"families": total["received"]},
        "trainings": figures.training_counts(f)
        | {
            "families_attended": total["attended"],
            "attendance_rate": round(100 * total["attended"] / registered, 1)
            if registered
            else None,
        },
        "visits": {
            "visits": figures.visit_count(f),
            "families_due": under,
            "families_visited": total["visited"],
            "coverage": round(100 * total["visited"] / under, 1) if under else None,
        },
        "compliance_by_commitment": figures.compliance_by_commitment(f, locale),
        "sanctions": sanctions(f),
        "duplicates_merged": merged_duplicates(f),
        "trend": figures.trend(f),
    }


def filter_choices() -> dict[str, list[Any]]:
    """Communities and staff members offered by the filter form (ids as text, as typed)."""
    communities = db.session.execute(
        select(Community.id, Community.name)
        .where(Community.voided.is_(False))
        .order_by(spanish(Community.name))
    ).all()
    staff = db.session.execute(
        select(User.id, User.full_name).where(User.active.is_(True)).order_by(User.full_name)
    ).all()
    return {
        "communities": [Choice(str(c.id), c.name) for c in communities],
        "staff": [StaffChoice(str(s.id), s.full_name) for s in staff],
    }


class Choice(NamedTuple):
    id: str
    name: str


class StaffChoice(NamedTuple):
    id: str
    full_name: str
