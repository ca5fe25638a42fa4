"""Keep the dashboard's summary tables current: recompute the communities marked dirty.

:func:`refresh` runs before the dashboard reads. When nothing is marked and the family statuses
of the day asked are built, it costs two small queries and takes no lock. Otherwise, under a
write lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), it takes the marks, deletes
the summaries of those communities (all of them for a NULL mark or many marks) and inserts them
again with one ``INSERT ... SELECT ... GROUP BY`` per table (:mod:`.rollup_inserts`). Marks
written meanwhile by other transactions stay for the next refresh, so the summaries converge on
the records.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import (
    Connection,
    delete,
    exists,
    func,
    insert,
    select,
)

from fieldapp.communities.models import Community
from fieldapp.dashboard.filters import Filters, month_end
from fieldapp.dashboard.models import (
    ALL_COMMUNITIES,
    AgreementTotal,
    DeliveryMonth,
    DirtyMark,
    FamilyStatus,
    FindingMonth,
    PeriodFigures,
    PromiseDeliveryMonth,
    PromiseTotal,
    StatusBuilt,
    TrainingMonth,
    VisitMonth,
)
from fieldapp.dashboard.rollup_inserts import (
    Scope,
    all_communities_insert,
    figures_insert,
    figures_staff,
    in_scope,
    status_insert,
    summary_inserts,
)
from fieldapp.dashboard.triggers import ensure_triggers
from fieldapp.extensions import db

#: Above this many marked communities, one full rebuild is cheaper than many partial ones.
FULL_REBUILD_AT = 40
ADVISORY_LOCK_KEY = 7_301_2026
#: Summary tables with rows per community and rows for all communities together.
SUMMED_TABLES = (
    DeliveryMonth,
    VisitMonth,
    FindingMonth,
    TrainingMonth,
    PromiseTotal,
    PromiseDeliveryMonth,
    AgreementTotal,
)
SUMMARY_TABLES = (*SUMMED_TABLES, PeriodFigures)


def _lock(conn: Connection, wait: bool = True) -> bool:
    """Take the rebuild lock (SQLite: the write lock, waited for). On PostgreSQL, without
    ``wait``, only if it is free: whether it was taken."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return True
    if wait:
        conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        return True
    return bool(conn.execute(select(func.pg_try_advisory_xact_lock(ADVISORY_LOCK_KEY))).scalar())


def _missing_status(conn: Connection, asof: date) -> list[uuid.UUID]:
    built = exists().where(StatusBuilt.asof == asof, StatusBuilt.community_id == Community.id)
    return list(conn.execute(select(Community.id).where(~built)).scalars())


def _figures_key(f: Filters) -> list[Any]:
    staff_id, staff_name = figures_staff(f)
    return [
        PeriodFigures.asof == f.asof,
        PeriodFigures.month_from == f"{f.date_from:%Y-%m}",
        PeriodFigures.month_to == f"{f.date_to:%Y-%m}",
        PeriodFigures.staff_id == staff_id,
        PeriodFigures.staff_name == staff_name,
    ]


def _missing_figures(conn: Connection, f: Filters) -> list[uuid.UUID]:
    built = exists().where(*_figures_key(f), PeriodFigures.community_id == Community.id)
    return list(conn.execute(select(Community.id).where(~built)).scalars())


def _built(conn: Connection, f: Filters) -> bool:
    """Whether the family statuses of ``f``'s day and its period's figures exist (the page
    cannot be drawn without them; marks only say that some are out of date)."""
    return not _missing_status(conn, f.asof) and not _missing_figures(conn, f)


def _needs_work(conn: Connection, f: Filters) -> bool:
    if conn.execute(select(DirtyMark.id).limit(1)).first() is not None:
        return True
    return not _built(conn, f)


def _rebuild(conn: Connection, marks: set[uuid.UUID | None]) -> None:
    community_count = conn.execute(select(func.count()).select_from(Community)).scalar() or 0
    full = None in marks or len(marks) >= min(FULL_REBUILD_AT, max(1, community_count))
    scope: Scope = None if full else sorted(m for m in marks if m is not None)
    for table in SUMMARY_TABLES:
        conn.execute(delete(table).where(*in_scope(table.community_id, scope)))
        # (the all-communities rows are rebuilt below in any case)
    conn.execute(delete(FamilyStatus).where(*in_scope(FamilyStatus.community_id, scope)))
    conn.execute(delete(StatusBuilt).where(*in_scope(StatusBuilt.community_id, scope)))
    for statement in summary_inserts(scope):
        conn.execute(statement)
    for table in SUMMED_TABLES:
        conn.execute(delete(table).where(table.community_id == ALL_COMMUNITIES))
        conn.execute(all_communities_insert(table))


def refresh(f: Filters) -> bool:
    """Bring the summaries, the family statuses on ``f.asof`` and the families figures of
    ``f``'s period (and staff member) up to date.

    :returns: whether anything had to be recomputed.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.setdefault("dashboard", {})
    with db.engine.connect() as conn:
        if state.get("triggers") and not _needs_work(conn, f):
            conn.rollback()
            return False
        # While another request rebuilds (a sync day marks communities all the time), a page
        # whose figures exist is drawn from them at once, some seconds old, instead of holding
        # a worker until that rebuild ends and then rebuilding again: twenty coordinators
        # queued behind each other, and the nodes' requests behind them.
        wait = not (state.get("triggers") and _built(conn, f))
        conn.rollback()
        if not _lock(conn, wait=wait):
            conn.rollback()
            return False
        ensure_triggers(conn)
        state["triggers"] = True
        marks = set(conn.execute(delete(DirtyMark).returning(DirtyMark.community_id)).scalars())
        if marks:
            _rebuild(conn, marks)
            if None in marks or len(marks) >= FULL_REBUILD_AT:
                _analyze(conn)
        _prune_days(conn, f.asof)
        missing = _missing_status(conn, f.asof)
        if missing:
            conn.execute(
                delete(FamilyStatus).where(
                    FamilyStatus.asof == f.asof, FamilyStatus.community_id.in_(missing)
                )
            )
            conn.execute(status_insert(f.asof, missing))
            conn.execute(
                insert(StatusBuilt), [{"asof": f.asof, "community_id": c} for c in missing]
            )
        missing = _missing_figures(conn, f)
        if missing:
            conn.execute(figures_insert(f, missing))
        conn.commit()
        return True


def _analyze(conn: Connection) -> None:
    """Fresh planner statistics after a bulk change (the demo's load, a big sync, a restore):
    without them both databases pick nested loops over the freshly filled tables."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")  # a quick sample per index
        conn.exec_driver_sql("ANALYZE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE")


def _prune_days(conn: Connection, asof: date) -> None:
    """Keep statuses of month ends and of the day asked; past "todays" are not asked again."""
    days = conn.execute(select(StatusBuilt.asof).distinct()).scalars().all()
    stale = [d for d in days if d != asof and d != month_end(d)]
    if stale:
        conn.execute(delete(StatusBuilt).where(StatusBuilt.asof.in_(stale)))
        conn.execute(delete(FamilyStatus).where(FamilyStatus.asof.in_(stale)))
        conn.execute(delete(PeriodFigures).where(PeriodFigures.asof.in_(stale)))


def mark_all_dirty() -> None:
    """Ask for a full rebuild at the next refresh (after a restore, or by an administrator)."""
    db.session.execute(insert(DirtyMark).values(community_id=None))
