"""The dashboard's figures computed the plain way, for tests: load the records, loop in Python.

Independent of fieldapp.dashboard (it imports only the models), it follows the definitions
written in docs/using/dashboard.en.md ("Definitions"), so a test can compare what the app shows
through HTTP with numbers it computed itself.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
)
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession

DEMO_TODAY = date(2026, 10, 31)
PROMISING = {"signed", "active", "suspended", "completed", "terminated"}


def _all(model: Any) -> list[Any]:
    return list(db.session.execute(select(model)).scalars())


@dataclass
class Period:
    first_month: str  # YYYY-MM
    last_month: str
    today: date = DEMO_TODAY
    community_code: str | None = None
    #: (user id, full name) of the staff member chosen: records made by them (by id or name).
    staff: tuple[Any, str] | None = None

    @property
    def start(self) -> date:
        y, m = map(int, self.first_month.split("-"))
        return date(y, m, 1)

    @property
    def end(self) -> date:
        y, m = map(int, self.last_month.split("-"))
        return date(y, m, calendar.monthrange(y, m)[1])

    @property
    def asof(self) -> date:
        return min(self.end, self.today)

    def within(self, day: date) -> bool:
        return self.start <= day <= self.end


class Expected:
    """Every figure of the dashboard for one period (and optionally one community)."""

    def __init__(self, p: Period) -> None:
        self.p = p
        self.communities = {c.id: c for c in _all(Community)}
        self.families = {f.id: f for f in _all(Family)}
        self.agreements = {a.id: a for a in _all(Agreement)}
        self.visits = _all(ComplianceVisit)
        self.findings = _all(VisitFinding)
        self.sanctions = _all(Sanction)
        self.deliveries = _all(Delivery)
        self.sessions = {s.id: s for s in _all(TrainingSession)}
        self.attendance = _all(Attendance)
        self.promises = _all(AgreementBenefit)
        self.commitments = {c.id: c for c in _all(AgreementCommitment)}
        self.commitment_types = {c.id: c for c in _all(CommitmentType)}
        self.benefit_types = {b.id: b for b in _all(BenefitType)}

    # -- helpers --------------------------------------------------------------------------------
    def community_of(self, family_id: Any) -> str:
        return self.communities[self.families[family_id].community_id].code

    def in_community(self, family_id: Any) -> bool:
        return (
            self.p.community_code is None or self.community_of(family_id) == self.p.community_code
        )

    def in_force(self, a: Agreement) -> bool:
        return (
            not a.voided
            and a.status in ("active", "suspended")
            and a.period_start <= self.p.asof <= a.period_end
        )

    def overlaps(self, a: Agreement) -> bool:
        return a.period_start <= self.p.end and a.period_end >= self.p.start

    def by_staff(self, user_id: Any, name: str | None) -> bool:
        """Whether a record made by (``user_id``, ``name``) is the chosen staff member's."""
        return self.p.staff is None or user_id == self.p.staff[0] or name == self.p.staff[1]

    def drafted(self, a: Agreement) -> bool:
        return self.by_staff(a.created_by_id, a.created_by_name)

    def in_scope(self, fam: Family, case_load: set[Any] | None) -> bool:
        """A registered family of the community (and of the staff member's case load)."""
        return (
            not fam.voided
            and fam.status == "active"
            and self.in_community(fam.id)
            and (case_load is None or fam.id in case_load)
        )

    def case_load(self) -> set[Any] | None:
        """Families with a non-voided agreement the staff member drafted (None: everyone)."""
        if self.p.staff is None:
            return None
        return {a.family_id for a in self.agreements.values() if not a.voided and self.drafted(a)}

    # -- families ---------------------------------------------------------------------------------
    def family_rows(self) -> dict[Any, dict[str, Any]]:
        """Per family in scope: status and the period flags."""
        asof = self.p.asof
        asof_end = datetime.combine(asof + timedelta(days=1), time(), tzinfo=UTC)
        reversed_ids = {d.reverses_id for d in self.deliveries if d.reverses_id and not d.voided}
        by_family: dict[str, dict[Any, list[Any]]] = {
            "agreements": defaultdict(list),
            "visits": defaultdict(list),
            "deliveries": defaultdict(list),
            "attendance": defaultdict(list),
        }
        for a in self.agreements.values():
            by_family["agreements"][a.family_id].append(a)
        for v in self.visits:
            by_family["visits"][v.family_id].append(v)
        for d in self.deliveries:
            by_family["deliveries"][d.family_id].append(d)
        for a in self.attendance:
            by_family["attendance"][a.family_id].append(a)
        breached_visits = {
            f.visit_id for f in self.findings if not f.voided and f.result == "breached"
        }
        out = {}
        case_load = self.case_load()
        for fam in self.families.values():
            if not self.in_scope(fam, case_load):
                continue
            mine = by_family["agreements"][fam.id]
            force = [a for a in mine if self.in_force(a)]
            force_ids = {a.id for a in force}
            sanctions = [
                s
                for s in self.sanctions
                if s.family_id == fam.id
                and not s.voided
                and s.status == "confirmed"
                and (s.decided_at or s.created_at) < asof_end
                and self.agreements[s.agreement_id].period_start
                <= asof
                <= self.agreements[s.agreement_id].period_end
            ]
            visits = [v for v in by_family["visits"][fam.id] if not v.voided]
            under = [v for v in visits if v.visited_on <= asof and v.agreement_id in force_ids]
            last_on = max((v.visited_on for v in under), default=None)
            breached = False
            if last_on is not None:
                last_ids = {v.id for v in visits if v.visited_on == last_on}
                breached = bool(last_ids & breached_visits)
            if sanctions:
                status = "non_compliant"
            elif not force:
                status = "no_agreement"
            elif last_on is None:
                status = "not_visited"
            elif breached:
                status = "non_compliant"
            else:
                status = "compliant"
            received = any(
                not d.voided
                and d.reverses_id is None
                and self.p.within(d.delivered_on)
                and d.id not in reversed_ids
                for d in by_family["deliveries"][fam.id]
            )
            attended = any(
                not a.voided
                and not self.sessions[a.session_id].voided
                and self.p.within(self.sessions[a.session_id].held_on)
                for a in by_family["attendance"][fam.id]
            )
            visited = any(self.p.within(v.visited_on) for v in visits)
            out[fam.id] = {
                "code": fam.code,
                "community": self.community_of(fam.id),
                "status": status,
                "in_force": bool(force),
                "active": any(a.status == "active" for a in force),
                "received": received,
                "attended": attended,
                "visited": visited and bool(force),
                "last_visit_on": max(
                    (v.visited_on for v in visits if v.visited_on <= asof), default=None
                ),
            }
        return out

    def by_community(self) -> dict[str, dict[str, int]]:
        """Per community code: the counts of the families-by-community table."""
        table: dict[str, Counter] = defaultdict(Counter)
        for row in self.family_rows().values():
            c = table[row["community"]]
            c["registered"] += 1
            c["under_agreement"] += row["in_force"]
            c["active_agreement"] += row["active"]
            c[row["status"]] += 1
            c["received"] += row["received"]
            c["compliant_received"] += row["received"] and row["status"] == "compliant"
            c["attended"] += row["attended"]
            c["visited"] += row["visited"]
        return {code: dict(counts) for code, counts in table.items()}

    # -- agreements, benefits ---------------------------------------------------------------------
    def agreements_by_status(self) -> Counter:
        return Counter(
            a.status
            for a in self.agreements.values()
            if not a.voided
            and self.overlaps(a)
            and self.in_community(a.family_id)
            and self.drafted(a)
        )

    def renewals_due(self, days: int = 90) -> int:
        successors = {a.supersedes_id for a in self.agreements.values() if not a.voided}
        return sum(
            1
            for a in self.agreements.values()
            if not a.voided
            and a.status in ("signed", "active")
            and a.id not in successors
            and self.p.asof <= a.period_end <= self.p.asof + timedelta(days=days)
            and self.in_community(a.family_id)
            and self.drafted(a)
        )

    def benefits(self) -> dict[str, dict[str, Decimal | int]]:
        y, m = self.p.asof.year, self.p.asof.month
        asof_month_end = date(y, m, calendar.monthrange(y, m)[1])
        promising = {
            a.id
            for a in self.agreements.values()
            if not a.voided
            and a.status in PROMISING
            and self.overlaps(a)
            and self.in_community(a.family_id)
            and self.drafted(a)
        }
        out: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "promised": Decimal(0),
                "delivered_to_date": Decimal(0),
                "delivered_in_period": Decimal(0),
                "deliveries_in_period": 0,
            }
        )
        for b in self.promises:
            if not b.voided and b.agreement_id in promising:
                out[self.benefit_types[b.benefit_type_id].code]["promised"] += b.quantity
        for d in self.deliveries:
            if d.voided:
                continue
            code = self.benefit_types[d.benefit_type_id].code
            sign = -1 if d.reverses_id else 1
            if d.agreement_id in promising and d.delivered_on <= asof_month_end:
                out[code]["delivered_to_date"] += sign * d.quantity
            if (
                self.p.within(d.delivered_on)
                and self.in_community(d.family_id)
                and self.by_staff(d.delivered_by_id, d.delivered_by_name)
            ):
                out[code]["delivered_in_period"] += sign * d.quantity
                out[code]["deliveries_in_period"] += sign
        return dict(out)

    def delivery_counts(self) -> dict[str, int]:
        rows = [
            d
            for d in self.deliveries
            if not d.voided
            and self.p.within(d.delivered_on)
            and self.in_community(d.family_id)
            and self.by_staff(d.delivered_by_id, d.delivered_by_name)
        ]
        return {
            "deliveries": sum(1 for d in rows if d.reverses_id is None),
            "reversals": sum(1 for d in rows if d.reverses_id is not None),
        }

    # -- trainings, visits, findings, sanctions ---------------------------------------------------
    def trainings(self) -> dict[str, Any]:
        held = {
            s.id: s
            for s in self.sessions.values()
            if not s.voided
            and self.p.within(s.held_on)
            and (
                self.p.community_code is None
                or self.communities[s.community_id].code == self.p.community_code
            )
            and self.by_staff(s.trainer_id, s.trainer_name)
        }
        return {
            "sessions": len(held),
            "hours": sum((s.duration_hours for s in held.values()), Decimal(0)),
            "attendance": sum(1 for a in self.attendance if not a.voided and a.session_id in held),
        }

    def visit_in_period(self, v: ComplianceVisit) -> bool:
        return (
            not v.voided
            and self.p.within(v.visited_on)
            and self.in_community(v.family_id)
            and self.by_staff(v.monitor_id, v.monitor_name)
        )

    def visit_count(self) -> int:
        return sum(1 for v in self.visits if self.visit_in_period(v))

    def findings_by_commitment(self) -> dict[str, Counter]:
        visits = {v.id for v in self.visits if self.visit_in_period(v)}
        out: dict[str, Counter] = defaultdict(Counter)
        for f in self.findings:
            if not f.voided and f.visit_id in visits:
                kind = self.commitments[f.agreement_commitment_id].commitment_type_id
                out[self.commitment_types[kind].code][f.result] += 1
        return dict(out)

    def sanctions_in_force(self) -> Counter:
        scope = set(self.family_rows())
        asof_end = datetime.combine(self.p.asof + timedelta(days=1), time(), tzinfo=UTC)
        return Counter(
            s.level
            for s in self.sanctions
            if s.family_id in scope
            and not s.voided
            and s.status == "confirmed"
            and (s.decided_at or s.created_at) < asof_end
            and self.agreements[s.agreement_id].period_start
            <= self.p.asof
            <= self.agreements[s.agreement_id].period_end
        )

    def trend(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter] = defaultdict(Counter)
        for d in self.deliveries:
            if (
                not d.voided
                and self.p.within(d.delivered_on)
                and self.in_community(d.family_id)
                and self.by_staff(d.delivered_by_id, d.delivered_by_name)
            ):
                out[f"{d.delivered_on:%Y-%m}"]["deliveries"] += -1 if d.reverses_id else 1
        for v in self.visits:
            if self.visit_in_period(v):
                out[f"{v.visited_on:%Y-%m}"]["visits"] += 1
        for a in self.attendance:
            s = self.sessions[a.session_id]
            if (
                not a.voided
                and not s.voided
                and self.p.within(s.held_on)
                and (
                    self.p.community_code is None
                    or self.communities[s.community_id].code == self.p.community_code
                )
                and self.by_staff(s.trainer_id, s.trainer_name)
            ):
                out[f"{s.held_on:%Y-%m}"]["attendance"] += 1
        return {month: dict(c) for month, c in out.items()}
