"""The datasets of who is in the program and what they were given: communities (and the
families' figures by community), families, their agreements, the benefits these promise and the
deliveries.

Each is a SELECT of labelled columns (:class:`.datasets.Col`) over the records the dashboard's
filters select (:mod:`.conditions`); their column names are part of the export format.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func
from sqlalchemy.orm import aliased

from fieldapp.agreements.models import Agreement, AgreementBenefit, BenefitType
from fieldapp.communities.models import Community
from fieldapp.dashboard.conditions import (
    agreement_scope,
    delivery_conditions,
    family_conditions,
    in_community,
    overlaps_period,
    promised_conditions,
)
from fieldapp.dashboard.datasets import (
    Col,
    Dataset,
    family_cols,
    placeholder_filters,
    select_columns,
)
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.status import family_status, signed_quantity
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.families.privacy import private


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


# -- families --------------------------------------------------------------------------------------
def _families_parts(f: Filters) -> tuple[Any, list[Col]]:
    fs = family_status(f, family_conditions(f))
    cols = [
        *family_cols(),
        Col("dni", _l("DNI"), private(Family.dni)),
        Col("members_count", _l("Household members"), Family.members_count, "int"),
        Col("phone", _l("Phone"), private(Family.phone)),
        Col("lat", _l("Latitude"), private(Family.lat), "decimal"),
        Col("lon", _l("Longitude"), private(Family.lon), "decimal"),
        Col("plot_name", _l("Plot"), private(Family.plot_name)),
        Col("plot_ha", _l("Plot (ha)"), Family.plot_ha, "decimal"),
        Col("forest_ha", _l("Forest (ha)"), Family.forest_ha, "decimal"),
        Col("coffee_ha", _l("Coffee (ha)"), Family.coffee_ha, "decimal"),
        Col("data_consent", _l("Data-use consent"), Family.data_consent, "bool"),
        Col("registered_at", _l("Registered"), Family.created_at, "datetime"),
        Col("agreement_number", _l("Agreement in force"), fs.c.agreement_number),
        Col("agreement_status", _l("Agreement status"), fs.c.agreement_status,
            labels="agreement_status"),
        Col("has_active_agreement", _l("Active agreement"), fs.c.has_active == 1, "bool"),
        Col("compliance_status", _l("Compliance"), fs.c.status, labels="compliance_status"),
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
        Col("status", _l("Status"), Agreement.status, labels="agreement_status"),
        Col("kind", _l("Kind"), Agreement.kind, labels="agreement_kind"),
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
        Col("agreement_status", _l("Status"), Agreement.status, labels="agreement_status"),
        *family_cols(),
        Col("benefit_code", _l("Benefit code"), BenefitType.code, verbatim=True),
        Col("benefit_name", _l("Benefit"), BenefitType.name_es),
        Col("quantity", _l("Quantity"), AgreementBenefit.quantity, "decimal"),
        Col("unit", _l("Unit"), AgreementBenefit.unit),
        Col("schedule", _l("Schedule"), AgreementBenefit.schedule),
        Col("promise_id", _l("Promise id"), AgreementBenefit.id, "uuid"),
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
        Col("benefit_code", _l("Benefit code"), BenefitType.code, verbatim=True),
        Col("benefit_category", _l("Category"), BenefitType.category,
            labels="benefit_category"),
        Col("item", _l("Item"), Delivery.item),
        Col("quantity", _l("Quantity"), Delivery.quantity, "decimal"),
        Col("signed_quantity", _l("Counted quantity"), signed_quantity(), "decimal"),
        Col("unit", _l("Unit"), Delivery.unit),
        Col("delivered_by_name", _l("Delivered by"), Delivery.delivered_by_name),
        Col("receipt_kind", _l("Receipt"), Delivery.receipt_kind, labels="receipt_kind"),
        Col("is_reversal", _l("Reversal"), Delivery.reverses_id.is_not(None), "bool"),
        Col("reverses_code", _l("Reverses"), _Reversed.code),
        Col("reason", _l("Reason"), Delivery.reason),
        Col("suspected_duplicate_of_code", _l("Suspected double of"), _Twin.code),
    ]


def _deliveries(f: Filters) -> Select[Any]:
    # The CSV export reads the same rows its own faster way (delivery_csv.deliveries_csv): a
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


#: This module's datasets, in the order the dashboard offers them.
DATASETS: tuple[Dataset, ...] = (
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
)
