"""Datasets: named selections with stable column names, shared by the lists and the exports.

A dataset is a SELECT of labelled columns built from the dashboard's filters. Column names
are part of the export format (documented in docs/README-dashboard.md): add new columns at the
end, never rename or remove one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
)
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.dashboard.conditions import (
    agreement_scope,
    delivery_conditions,
    family_conditions,
    in_community,
    overlaps_period,
    promised_conditions,
    session_conditions,
    visit_conditions,
)
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.status import family_status, sanction_in_force, signed_quantity
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession


@dataclass(frozen=True)
class Col:
    """One column: its stable name, its label on screen, the SQL expression and its kind."""

    name: str
    label: Any
    expr: Any
    kind: str = "text"  # text, int, decimal, date, datetime, bool, uuid


@dataclass(frozen=True)
class Dataset:
    """A named selection: ``build(filters)`` returns the SELECT; ``columns`` name its columns."""

    name: str
    title: Any
    columns: Callable[[], list[Col]]
    build: Callable[[Filters], Select[Any]]

    def column_names(self) -> list[str]:
        """The stable column names, in order (the export's header row)."""
        return [c.name for c in self.columns()]


def select_columns(cols: list[Col]) -> Select[Any]:
    """The SELECT of ``cols``, each labelled with its stable name."""
    return select(*[c.expr.label(c.name) for c in cols])


# -- shared column groups --------------------------------------------------------------------------
def family_cols(family: Any = Family, community: Any = Community) -> list[Col]:
    """The columns naming a family and its community (either may be an alias of its table)."""
    return [
        Col("family_id", _l("Family id"), family.id, "uuid"),
        Col("family_code", _l("Family"), family.code),
        Col("head_given_names", _l("Given names"), family.head_given_names),
        Col("head_surname", _l("Surnames"), family.head_surname),
        Col("community_code", _l("Community code"), community.code),
        Col("community_name", _l("Community"), community.name),
    ]


# -- communities -----------------------------------------------------------------------------------
def _communities_cols() -> list[Col]:
    return [
        Col("community_id", _l("Community id"), Community.id, "uuid"),
        Col("community_code", _l("Code"), Community.code),
        Col("community_name", _l("Community"), Community.name),
        Col("district", _l("District"), Community.district),
        Col("province", _l("Province"), Community.province),
        Col("sector", _l("Sector"), Community.sector),
        Col("lat", _l("Latitude"), Community.lat, "decimal"),
        Col("lon", _l("Longitude"), Community.lon, "decimal"),
    ]


def _communities(f: Filters) -> Select[Any]:
    return (
        select_columns(_communities_cols())
        .where(Community.voided.is_(False), *in_community(f, Community.id))
        .order_by(Community.code)
    )


# -- community summary -----------------------------------------------------------------------------
def _summary_parts(f: Filters) -> tuple[Any, list[Col]]:
    fs = family_status(f, family_conditions(f))

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    cols = [
        Col("community_code", _l("Code"), Community.code),
        Col("community_name", _l("Community"), Community.name),
        Col("families_registered", _l("Registered"), func.count(fs.c.family_id), "int"),
        Col(
            "families_active_agreement",
            _l("Active agreement"),
            count_if(fs.c.has_active == 1),
            "int",
        ),
        Col("families_compliant", _l("Compliant"), count_if(fs.c.status == "compliant"), "int"),
        Col(
            "families_non_compliant",
            _l("Not compliant"),
            count_if(fs.c.status == "non_compliant"),
            "int",
        ),
        Col(
            "families_not_visited",
            _l("Not visited yet"),
            count_if(fs.c.status == "not_visited"),
            "int",
        ),
        Col(
            "families_no_agreement",
            _l("No agreement in force"),
            count_if(fs.c.status == "no_agreement"),
            "int",
        ),
        Col(
            "families_received_benefits",
            _l("Received benefits"),
            count_if(fs.c.received == 1),
            "int",
        ),
        Col(
            "families_compliant_and_received",
            _l("Compliant and received benefits"),
            count_if(and_(fs.c.received == 1, fs.c.status == "compliant")),
            "int",
        ),
    ]
    return fs, cols


def _community_summary_cols() -> list[Col]:
    return _summary_parts(placeholder_filters())[1]


def _community_summary(f: Filters) -> Select[Any]:
    fs, cols = _summary_parts(f)
    stmt = (
        select_columns(cols)
        .select_from(Community)
        .outerjoin(fs, fs.c.community_id == Community.id)
        .where(Community.voided.is_(False), *in_community(f, Community.id))
        .group_by(Community.id, Community.code, Community.name)
        .order_by(Community.code)
    )
    if f.staff_id is not None:
        stmt = stmt.having(func.count(fs.c.family_id) > 0)
    return stmt


def placeholder_filters() -> Filters:
    """Any valid filters: what builds a dataset's column list when no selection is at hand."""
    from datetime import date

    day = date(2000, 1, 1)
    return Filters(date_from=day, date_to=day, today=day)


# -- families --------------------------------------------------------------------------------------
def _families_parts(f: Filters) -> tuple[Any, list[Col]]:
    fs = family_status(f, family_conditions(f))
    cols = [
        *family_cols(),
        Col("dni", _l("DNI"), Family.dni),
        Col("members_count", _l("Household members"), Family.members_count, "int"),
        Col("phone", _l("Phone"), Family.phone),
        Col("lat", _l("Latitude"), Family.lat, "decimal"),
        Col("lon", _l("Longitude"), Family.lon, "decimal"),
        Col("plot_name", _l("Plot"), Family.plot_name),
        Col("plot_ha", _l("Plot (ha)"), Family.plot_ha, "decimal"),
        Col("forest_ha", _l("Forest (ha)"), Family.forest_ha, "decimal"),
        Col("coffee_ha", _l("Coffee (ha)"), Family.coffee_ha, "decimal"),
        Col("data_consent", _l("Data-use consent"), Family.data_consent, "bool"),
        Col("registered_at", _l("Registered"), Family.created_at, "datetime"),
        Col("agreement_number", _l("Agreement in force"), fs.c.agreement_number),
        Col("agreement_status", _l("Agreement status"), fs.c.agreement_status),
        Col("has_active_agreement", _l("Active agreement"), fs.c.has_active == 1, "bool"),
        Col("compliance_status", _l("Compliance"), fs.c.status),
        Col("last_visit_on", _l("Latest visit"), fs.c.last_visit_on, "date"),
        Col("sanctions_in_force", _l("Sanctions in force"), fs.c.sanctions_in_force, "int"),
        Col(
            "received_benefits_in_period",
            _l("Received benefits in the period"),
            fs.c.received == 1,
            "bool",
        ),
    ]
    return fs, cols


def _families(f: Filters) -> Select[Any]:
    fs, cols = _families_parts(f)
    return (
        select_columns(cols)
        .select_from(Family)
        .join(fs, fs.c.family_id == Family.id)
        .join(Community, Community.id == Family.community_id)
        .order_by(Family.code)
    )


# -- agreements and promised benefits --------------------------------------------------------------
_Previous = aliased(Agreement, name="previous")


def _agreements_cols() -> list[Col]:
    return [
        Col("agreement_id", _l("Agreement id"), Agreement.id, "uuid"),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        *family_cols(),
        Col("year", _l("Year"), Agreement.year, "int"),
        Col("period_start", _l("Starts"), Agreement.period_start, "date"),
        Col("period_end", _l("Ends"), Agreement.period_end, "date"),
        Col("status", _l("Status"), Agreement.status),
        Col("kind", _l("Kind"), Agreement.kind),
        Col("version_no", _l("Version"), Agreement.version_no, "int"),
        Col("supersedes_number", _l("Replaces"), _Previous.number),
        Col("signed_at", _l("Signed"), Agreement.signed_at, "datetime"),
        Col("signed_place", _l("Place of signing"), Agreement.signed_place),
        Col("signed_on_paper", _l("Signed on paper"), Agreement.signed_on_paper, "bool"),
        Col("content_hash", _l("Content hash"), Agreement.content_hash),
        Col("status_changed_at", _l("Status changed"), Agreement.status_changed_at, "datetime"),
        Col("status_reason", _l("Reason"), Agreement.status_reason),
        Col("created_by_name", _l("Drafted by"), Agreement.created_by_name),
    ]


def _agreements(f: Filters) -> Select[Any]:
    return (
        select_columns(_agreements_cols())
        .select_from(Agreement)
        .join(Family, Family.id == Agreement.family_id)
        .join(Community, Community.id == Family.community_id)
        .outerjoin(_Previous, _Previous.id == Agreement.supersedes_id)
        .where(overlaps_period(f), *agreement_scope(f))
        .order_by(Agreement.number)
    )


def _promised_cols() -> list[Col]:
    return [
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("agreement_status", _l("Status"), Agreement.status),
        *family_cols(),
        Col("benefit_code", _l("Benefit code"), BenefitType.code),
        Col("benefit_name", _l("Benefit"), BenefitType.name_es),
        Col("quantity", _l("Quantity"), AgreementBenefit.quantity, "decimal"),
        Col("unit", _l("Unit"), AgreementBenefit.unit),
        Col("schedule", _l("Schedule"), AgreementBenefit.schedule),
    ]


def _promised(f: Filters) -> Select[Any]:
    return (
        select_columns(_promised_cols())
        .select_from(AgreementBenefit)
        .join(Agreement, Agreement.id == AgreementBenefit.agreement_id)
        .join(Family, Family.id == Agreement.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(BenefitType, BenefitType.id == AgreementBenefit.benefit_type_id)
        .where(AgreementBenefit.voided.is_(False), *promised_conditions(f))
        .order_by(Agreement.number, AgreementBenefit.position, BenefitType.code)
    )


# -- deliveries ------------------------------------------------------------------------------------
_Reversed = aliased(Delivery, name="reversed")
_Twin = aliased(Delivery, name="twin")


def _deliveries_cols() -> list[Col]:
    return [
        Col("delivery_id", _l("Delivery id"), Delivery.id, "uuid"),
        Col("delivery_code", _l("Delivery"), Delivery.code),
        Col("delivered_on", _l("Date"), Delivery.delivered_on, "date"),
        *family_cols(),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("benefit_code", _l("Benefit code"), BenefitType.code),
        Col("benefit_category", _l("Category"), BenefitType.category),
        Col("item", _l("Item"), Delivery.item),
        Col("quantity", _l("Quantity"), Delivery.quantity, "decimal"),
        Col("signed_quantity", _l("Counted quantity"), signed_quantity(), "decimal"),
        Col("unit", _l("Unit"), Delivery.unit),
        Col("delivered_by_name", _l("Delivered by"), Delivery.delivered_by_name),
        Col("receipt_kind", _l("Receipt"), Delivery.receipt_kind),
        Col("is_reversal", _l("Reversal"), Delivery.reverses_id.is_not(None), "bool"),
        Col("reverses_code", _l("Reverses"), _Reversed.code),
        Col("reason", _l("Reason"), Delivery.reason),
        Col("suspected_duplicate_of_code", _l("Suspected double of"), _Twin.code),
    ]


def _deliveries(f: Filters) -> Select[Any]:
    # The CSV export reads the same rows its own faster way (exports._deliveries_csv): a
    # change here (columns, filters, order) goes there too; the export tests compare both.
    return (
        select_columns(_deliveries_cols())
        .select_from(Delivery)
        .join(Family, Family.id == Delivery.family_id)
        .join(Community, Community.id == Family.community_id)
        .join(Agreement, Agreement.id == Delivery.agreement_id)
        .join(BenefitType, BenefitType.id == Delivery.benefit_type_id)
        .outerjoin(_Reversed, _Reversed.id == Delivery.reverses_id)
        .outerjoin(_Twin, _Twin.id == Delivery.suspected_duplicate_of_id)
        .where(*delivery_conditions(f, scan=f.community_id is None))
        .order_by(Delivery.delivered_on, Delivery.code)
    )


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
        Col("attendee_name", _l("Attended in person"), Attendance.attendee_name),
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
        Col("lat", _l("Latitude"), ComplianceVisit.lat, "decimal"),
        Col("lon", _l("Longitude"), ComplianceVisit.lon, "decimal"),
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
        Col("result", _l("Result"), VisitFinding.result),
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


_SanctionAgreement = aliased(Agreement, name="sanction_agreement")


def _sanctions_cols(f: Filters | None = None) -> list[Col]:
    f = f or placeholder_filters()
    in_force = case((sanction_in_force(f), literal(True)), else_=literal(False))
    return [
        Col("sanction_id", _l("Sanction id"), Sanction.id, "uuid"),
        *family_cols(),
        Col("agreement_number", _l("Agreement"), Agreement.number),
        Col("visit_code", _l("Visit"), ComplianceVisit.code),
        Col("level", _l("Level"), Sanction.level),
        Col("status", _l("Status"), Sanction.status),
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


ENTITIES: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "community_summary",
            _l("Families by community"),
            _community_summary_cols,
            _community_summary,
        ),
        Dataset("communities", _l("Communities"), _communities_cols, _communities),
        Dataset(
            "families",
            _l("Families"),
            lambda: _families_parts(placeholder_filters())[1],
            _families,
        ),
        Dataset("agreements", _l("Agreements"), _agreements_cols, _agreements),
        Dataset("promised_benefits", _l("Promised benefits"), _promised_cols, _promised),
        Dataset("deliveries", _l("Benefit deliveries"), _deliveries_cols, _deliveries),
        Dataset("trainings", _l("Training sessions"), lambda: _trainings_parts()[1], _trainings),
        Dataset("attendance", _l("Training attendance"), _attendance_cols, _attendance),
        Dataset("visits", _l("Compliance visits"), lambda: _visits_parts()[1], _visits),
        Dataset("findings", _l("Visit findings"), _findings_cols, _findings),
        Dataset("sanctions", _l("Sanctions"), _sanctions_cols, _sanctions),
    )
}
