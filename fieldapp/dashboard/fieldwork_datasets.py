"""The datasets of the work in the field: training sessions and their attendance, compliance
visits and their findings, and the sanctions that followed.

Each is a SELECT of labelled columns (:class:`.datasets.Col`) over the records the dashboard's
filters select (:mod:`.conditions`); their column names are part of the export format.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import Agreement, AgreementCommitment, CommitmentType
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.dashboard.conditions import in_community, session_conditions, visit_conditions
from fieldapp.dashboard.datasets import (
    Col,
    Dataset,
    family_cols,
    placeholder_filters,
    select_columns,
)
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.status import sanction_in_force
from fieldapp.families.models import Family
from fieldapp.families.privacy import private
from fieldapp.trainings.models import Attendance, TrainingSession


# -- trainings and attendance ----------------------------------------------------------------------
def _trainings_parts() -> tuple[Any, list[Col]]:
    attendees = (
        select(Attendance.session_id, func.count().label("n"))
        .where(Attendance.voided.is_(False))
        .group_by(Attendance.session_id)
        .subquery("attendees")
    )
    cols = [
        Col("session_id", _l("Session id"), TrainingSession.id, "uuid"),
        Col("session_code", _l("Session"), TrainingSession.code),
        Col("held_on", _l("Date"), TrainingSession.held_on, "date"),
        Col("topic", _l("Topic"), TrainingSession.topic),
        Col("community_code", _l("Community code"), Community.code),
        Col("community_name", _l("Community"), Community.name),
        Col("trainer_name", _l("Trainer"), TrainingSession.trainer_name),
        Col("place", _l("Place"), TrainingSession.place),
        Col("duration_hours", _l("Hours"), TrainingSession.duration_hours, "decimal"),
        Col("attendees", _l("Attendees"), func.coalesce(attendees.c.n, 0), "int"),
    ]
    return attendees, cols


def _trainings(f: Filters) -> Select[Any]:
    attendees, cols = _trainings_parts()
    return (
        select_columns(cols)
        .select_from(TrainingSession)
        .join(Community, Community.id == TrainingSession.community_id)
        .outerjoin(attendees, attendees.c.session_id == TrainingSession.id)
        .where(*session_conditions(f))
        .order_by(TrainingSession.held_on, TrainingSession.code)
    )


_FamilyCommunity = aliased(Community, name="family_community")


def _attendance_cols() -> list[Col]:
    return [
        Col("session_code", _l("Session"), TrainingSession.code),
        Col("held_on", _l("Date"), TrainingSession.held_on, "date"),
        Col("topic", _l("Topic"), TrainingSession.topic),
        Col("session_community_code", _l("Session community"), Community.code),
        *family_cols(community=_FamilyCommunity),
        Col("attendee_name", _l("Attended in person"), private(Attendance.attendee_name)),
        Col("attendance_id", _l("Attendance id"), Attendance.id, "uuid"),
    ]


def _attendance(f: Filters) -> Select[Any]:
    return (
        select_columns(_attendance_cols())
        .select_from(Attendance)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .join(Community, Community.id == TrainingSession.community_id)
        .join(Family, Family.id == Attendance.family_id)
        .join(_FamilyCommunity, _FamilyCommunity.id == Family.community_id)
        .where(Attendance.voided.is_(False), *session_conditions(f))
        .order_by(TrainingSession.held_on, TrainingSession.code, Family.code)
    )


# -- visits, findings, sanctions -------------------------------------------------------------------
def _visits_parts() -> tuple[Any, list[Col]]:
    results = ("met", "partial", "breached", "not_checked")
    counts = (
        select(
            VisitFinding.visit_id,
            *[func.sum(case((VisitFinding.result == r, 1), else_=0)).label(r) for r in results],
        )
        .where(VisitFinding.voided.is_(False))
        .group_by(VisitFinding.visit_id)
        .subquery("finding_counts")
    )
    cols = [
        Col("visit_id", _l("Visit id"), ComplianceVisit.id, "uuid"),
        Col("visit_code", _l("Visit"), ComplianceVisit.code),
        Col("visited_on", _l("Date"), ComplianceVisit.visited_on, "date"),
        *family_cols(),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("monitor_name", _l("Monitor"), ComplianceVisit.monitor_name),
        Col("lat", _l("Latitude"), private(ComplianceVisit.lat), "decimal"),
        Col("lon", _l("Longitude"), private(ComplianceVisit.lon), "decimal"),
        *[
            Col(f"findings_{r}", label, func.coalesce(getattr(counts.c, r), 0), "int")
            for r, label in zip(
                results,
                (_l("Met"), _l("Partly met"), _l("Breached"), _l("Not checked")),
                strict=True,
            )
        ],
        Col("notes", _l("Notes"), ComplianceVisit.notes),
    ]
    return counts, cols


def _visits(f: Filters) -> Select[Any]:
    counts, cols = _visits_parts()
    return (
        select_columns(cols)
        .select_from(ComplianceVisit)
        .join(Family, Family.id == ComplianceVisit.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(Agreement, Agreement.id == ComplianceVisit.agreement_id)
        .outerjoin(counts, counts.c.visit_id == ComplianceVisit.id)
        .where(*visit_conditions(f))
        .order_by(ComplianceVisit.visited_on, ComplianceVisit.code)
    )


def _findings_cols() -> list[Col]:
    return [
        Col("finding_id", _l("Finding id"), VisitFinding.id, "uuid"),
        Col("visit_code", _l("Visit"), ComplianceVisit.code),
        Col("visited_on", _l("Date"), ComplianceVisit.visited_on, "date"),
        *family_cols(),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("commitment_code", _l("Commitment"), CommitmentType.code),
        Col("result", _l("Result"), VisitFinding.result, labels="finding"),
        Col("notes", _l("Notes"), VisitFinding.notes),
    ]


def _findings(f: Filters) -> Select[Any]:
    return (
        select_columns(_findings_cols())
        .select_from(VisitFinding)
        .join(ComplianceVisit, ComplianceVisit.id == VisitFinding.visit_id)
        .join(Family, Family.id == ComplianceVisit.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(Agreement, Agreement.id == ComplianceVisit.agreement_id)
        .join(AgreementCommitment, AgreementCommitment.id == VisitFinding.agreement_commitment_id)
        .join(CommitmentType, CommitmentType.id == AgreementCommitment.commitment_type_id)
        .where(VisitFinding.voided.is_(False), *visit_conditions(f))
        .order_by(ComplianceVisit.visited_on, ComplianceVisit.code, CommitmentType.position)
    )


def _sanctions_cols(f: Filters | None = None) -> list[Col]:
    f = f or placeholder_filters()
    in_force = case((sanction_in_force(f), literal(True)), else_=literal(False))
    return [
        Col("sanction_id", _l("Sanction id"), Sanction.id, "uuid"),
        *family_cols(),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("visit_code", _l("Visit"), ComplianceVisit.code),
        Col("level", _l("Level"), Sanction.level, labels="sanction_level"),
        Col("status", _l("Status"), Sanction.status, labels="sanction_status"),
        Col("reason", _l("Reason"), Sanction.reason),
        Col("created_at", _l("Proposed"), Sanction.created_at, "datetime"),
        Col("decided_at", _l("Decided"), Sanction.decided_at, "datetime"),
        Col("decided_by_name", _l("Decided by"), Sanction.decided_by_name),
        Col("in_force", _l("In force"), in_force, "bool"),
    ]


def _sanctions(f: Filters) -> Select[Any]:
    conditions = [
        Sanction.voided.is_(False),
        Sanction.created_at >= f.start_at,
        Sanction.created_at < f.end_at,
        *in_community(f, Family.community_id),
    ]
    if f.staff_id is not None:
        conditions.append(f.staff_match(Sanction.decided_by_id, Sanction.decided_by_name))
    return (
        select_columns(_sanctions_cols(f))
        .select_from(Sanction)
        .join(Family, Family.id == Sanction.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(Agreement, Agreement.id == Sanction.agreement_id)
        .outerjoin(ComplianceVisit, ComplianceVisit.id == Sanction.visit_id)
        .where(*conditions)
        .order_by(Sanction.created_at, Sanction.id)
    )


#: This module's datasets, in the order the dashboard offers them.
DATASETS: tuple[Dataset, ...] = (
    Dataset("trainings", _l("Training sessions"), lambda: _trainings_parts()[1], _trainings),
    Dataset("attendance", _l("Training attendance"), _attendance_cols, _attendance),
    Dataset("visits", _l("Compliance visits"), lambda: _visits_parts()[1], _visits),
    Dataset("findings", _l("Visit findings"), _findings_cols, _findings),
    Dataset("sanctions", _l("Sanctions"), _sanctions_cols, _sanctions),
)
