"""Which of the dashboard's datasets the API serves, and what the API needs to know of each.

The rows and columns are the dataset's own (:mod:`fieldapp.dashboard.entities`, the exports'
queries, built over :func:`fieldapp.dashboard.filters.all_records`). For each, the API adds:

- ``key``: the column whose value names a row for good (a record's UUID), which orders the
  pages (keyset) and names a deleted row;
- ``community``: the community a row belongs to, for tokens scoped to communities;
- ``touches``: for each table of the change log (``sync_changes``), how a changed row of it
  names the dataset's rows whose values it changes (a community renamed changes its
  families' rows): what an incremental fetch sends again;
- ``personal``: the columns that are personal data (DNI, phone, GPS), only for tokens granted
  them.

``community_summary`` (figures per community) is the dashboard's, not a record list: the API
does not serve it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from fieldapp.agreements.models import Agreement, AgreementBenefit
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.dashboard.datasets import Col, Dataset
from fieldapp.dashboard.entities import ENTITIES
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession

#: A changed row's ids (a SELECT of one column) → the keys of the dataset's rows it changes.
Touch = Callable[[Any], Select[Any]]


def _same(ids: Any) -> Select[Any]:
    return ids


def _via(key: Any, link: Any, *joins: tuple[Any, Any]) -> Touch:
    """Rows whose ``link`` column (reached through ``joins``) is one of the changed ids."""

    def touch(ids: Any) -> Select[Any]:
        stmt = select(key)
        for table, on in joins:
            stmt = stmt.join(table, on)
        return stmt.where(link.in_(ids))

    return touch


@dataclass(frozen=True)
class ApiDataset:
    """A dataset as the API serves it."""

    dataset: Dataset
    key: str
    community: Any
    touches: tuple[tuple[str, Touch], ...]
    personal: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.dataset.name

    def key_col(self) -> Col:
        """The dataset's key column."""
        return next(c for c in self.dataset.columns() if c.name == self.key)

    def columns(self, personal: bool) -> list[Col]:
        """The dataset's columns a token sees (without the personal ones unless granted)."""
        return [c for c in self.dataset.columns() if personal or c.name not in self.personal]


def _family_rows(key: Any, family_link: Any, *joins: tuple[Any, Any]) -> tuple[tuple[str, Touch],
                                                                               ...]:
    """The touches of a dataset naming a family and its community (``family_cols``)."""
    return (
        ("families", _via(key, family_link, *joins)),
        ("communities", _via(key, Family.community_id, *joins,
                             (Family, Family.id == family_link))),
    )


_GPS = frozenset({"lat", "lon"})

API_DATASETS: dict[str, ApiDataset] = {
    d.name: d
    for d in (
        ApiDataset(ENTITIES["communities"], "community_id", Community.id,
                   (("communities", _same),)),
        ApiDataset(
            ENTITIES["families"], "family_id", Family.community_id,
            (
                ("families", _same),
                ("communities", _via(Family.id, Family.community_id)),
                # What the family's row says of its situation: agreement, visits, sanctions,
                # benefits received.
                ("agreements", _via(Agreement.family_id, Agreement.id)),
                ("compliance_visits", _via(ComplianceVisit.family_id, ComplianceVisit.id)),
                ("visit_findings", _via(ComplianceVisit.family_id, VisitFinding.id,
                                        (VisitFinding,
                                         VisitFinding.visit_id == ComplianceVisit.id))),
                ("sanctions", _via(Sanction.family_id, Sanction.id)),
                ("benefit_deliveries", _via(Delivery.family_id, Delivery.id)),
            ),
            personal=frozenset({"dni", "phone"}) | _GPS,
        ),
        ApiDataset(
            ENTITIES["agreements"], "agreement_id", Family.community_id,
            (("agreements", _same), *_family_rows(Agreement.id, Agreement.family_id)),
        ),
        ApiDataset(
            ENTITIES["promised_benefits"], "promise_id", Family.community_id,
            (
                ("agreement_benefits", _same),
                ("agreements", _via(AgreementBenefit.id, AgreementBenefit.agreement_id)),
                ("benefit_types", _via(AgreementBenefit.id, AgreementBenefit.benefit_type_id)),
                *_family_rows(AgreementBenefit.id, Agreement.family_id,
                              (Agreement, Agreement.id == AgreementBenefit.agreement_id)),
            ),
        ),
        ApiDataset(
            ENTITIES["deliveries"], "delivery_id", Family.community_id,
            (
                ("benefit_deliveries", _same),
                ("agreements", _via(Delivery.id, Delivery.agreement_id)),
                ("benefit_types", _via(Delivery.id, Delivery.benefit_type_id)),
                *_family_rows(Delivery.id, Delivery.family_id),
            ),
        ),
        ApiDataset(
            ENTITIES["trainings"], "session_id", TrainingSession.community_id,
            (
                ("training_sessions", _same),
                ("attendance", _via(Attendance.session_id, Attendance.id)),
                ("communities", _via(TrainingSession.id, TrainingSession.community_id)),
            ),
        ),
        ApiDataset(
            ENTITIES["attendance"], "attendance_id", Family.community_id,
            (
                ("attendance", _same),
                ("training_sessions", _via(Attendance.id, Attendance.session_id)),
                ("communities", _via(Attendance.id, TrainingSession.community_id,
                                     (TrainingSession,
                                      TrainingSession.id == Attendance.session_id))),
                *_family_rows(Attendance.id, Attendance.family_id),
            ),
        ),
        ApiDataset(
            ENTITIES["visits"], "visit_id", Family.community_id,
            (
                ("compliance_visits", _same),
                ("visit_findings", _via(VisitFinding.visit_id, VisitFinding.id)),
                ("agreements", _via(ComplianceVisit.id, ComplianceVisit.agreement_id)),
                *_family_rows(ComplianceVisit.id, ComplianceVisit.family_id),
            ),
            personal=_GPS,
        ),
        ApiDataset(
            ENTITIES["findings"], "finding_id", Family.community_id,
            (
                ("visit_findings", _same),
                ("compliance_visits", _via(VisitFinding.id, VisitFinding.visit_id)),
                ("agreements", _via(VisitFinding.id, ComplianceVisit.agreement_id,
                                    (ComplianceVisit,
                                     ComplianceVisit.id == VisitFinding.visit_id))),
                *_family_rows(VisitFinding.id, ComplianceVisit.family_id,
                              (ComplianceVisit, ComplianceVisit.id == VisitFinding.visit_id)),
            ),
        ),
        ApiDataset(
            ENTITIES["sanctions"], "sanction_id", Family.community_id,
            (
                ("sanctions", _same),
                ("agreements", _via(Sanction.id, Sanction.agreement_id)),
                ("compliance_visits", _via(Sanction.id, Sanction.visit_id)),
                *_family_rows(Sanction.id, Sanction.family_id),
            ),
        ),
    )
}
