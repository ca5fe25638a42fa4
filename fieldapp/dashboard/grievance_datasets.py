"""The grievances as a dataset (for donors and verifiers): dates, status, timeliness.

No grievance's description, family, answer or staff member's name is exported; a confidential
grievance (about staff) shows neither its community nor its category either, only that it was
received, when, and how it was dealt with in time. Its column names are part of the export
format.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Select, and_, case, literal, null
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from fieldapp.communities.models import Community
from fieldapp.dashboard.conditions import in_community
from fieldapp.dashboard.datasets import Col, Dataset, placeholder_filters, select_columns
from fieldapp.dashboard.filters import Filters
from fieldapp.grievances.models import OPEN_STATUSES, Grievance


class days_between(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """Whole days from the second date to the first (SQLite and PostgreSQL)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (f"CAST(julianday({compiler.process(later, **kw)}) - "
            f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)")


@compiles(days_between)
def _days_default(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


def _unless_confidential(expr: Any) -> Any:
    return case((Grievance.confidential.is_(True), null()), else_=expr)


def _grievances_cols(f: Filters | None = None) -> list[Col]:
    f = f or placeholder_filters()
    overdue = and_(Grievance.status.in_(OPEN_STATUSES), Grievance.due_on < f.today)
    return [
        Col("grievance_id", _l("Grievance id"), Grievance.id, "uuid"),
        Col("code", _l("Code"), Grievance.code),
        Col("received_on", _l("Received on"), Grievance.received_on, "date"),
        Col("community_code", _l("Community code"), _unless_confidential(Community.code)),
        Col("community_name", _l("Community"), _unless_confidential(Community.name)),
        Col("channel", _l("How it arrived"), Grievance.channel, labels="grievance_channel"),
        Col("category", _l("Category"), _unless_confidential(Grievance.category),
            labels="grievance_category"),
        Col("confidential", _l("Confidential"), Grievance.confidential, "bool"),
        Col("anonymous", _l("Anonymous"), Grievance.family_id.is_(None), "bool"),
        Col("status", _l("Status"), Grievance.status, labels="grievance_status"),
        Col("acknowledge_due_on", _l("Acknowledge by"), Grievance.acknowledge_due_on, "date"),
        Col("answer_due_on", _l("Answer due by"), Grievance.answer_due_on, "date"),
        Col("first_answered_on", _l("First answered on"), Grievance.first_answered_on, "date"),
        Col("days_to_answer", _l("Days to answer"),
            days_between(Grievance.first_answered_on, Grievance.received_on), "int"),
        Col("answered_in_time", _l("Answered in time"),
            case((Grievance.first_answered_on.is_(None), null()),
                 else_=Grievance.first_answered_on <= Grievance.answer_due_on), "bool"),
        Col("overdue", _l("Overdue"), case((overdue, literal(True)), else_=literal(False)),
            "bool"),
        Col("appealed", _l("Appealed"), Grievance.appealed_at.is_not(None), "bool"),
    ]


def _grievances(f: Filters) -> Select[Any]:
    return (
        select_columns(_grievances_cols(f))
        .select_from(Grievance)
        .join(Community, Community.id == Grievance.community_id)
        .where(Grievance.voided.is_(False), Grievance.received_on >= f.date_from,
               Grievance.received_on <= f.date_to, *in_community(f, Grievance.community_id))
        .order_by(Grievance.received_on, Grievance.code)
    )


#: This module's datasets, in the order the dashboard offers them.
DATASETS: tuple[Dataset, ...] = (
    Dataset("grievances", _l("Grievances"), _grievances_cols, _grievances),
)
