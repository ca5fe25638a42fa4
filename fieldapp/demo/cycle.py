"""The agreement cycle's events, up to the demo's "today": trainings, deliveries and visits.

Trainings are held in each community with its neighbour invited; deliveries hand out what each
signed agreement promised, in installments, with a few reversals and some receipts signed on
the tablet; monitoring visits check every commitment and propose or confirm sanctions when one
is breached.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fieldapp.agreements.models import Signature
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.deliveries.models import Delivery
from fieldapp.demo import names
from fieldapp.demo.base import DEMO_TODAY, DEMO_USERS, GeneratorBase, bulk, stamp
from fieldapp.trainings.models import Attendance, TrainingSession

#: How each benefit is handed out in the field: seedlings by the tray (coffee, 50 a tray) or by
#: the bundle of ten (shade trees); everything else one by one. Nobody delivers 33.33 seedlings.
DELIVERY_STEPS = {"coffee_seedlings": 50, "shade_seedlings": 10}


def installments(total: int, parts: int, step: int = 1) -> list[int]:
    """``total`` split into ``parts`` deliveries, each a whole number of ``step`` (the first ones
    take the remainder), summing to ``total`` when it is a multiple of ``step``."""
    steps, rest = divmod(total, step)
    base, extra = divmod(steps, parts)
    out = [(base + (1 if k < extra else 0)) * step for k in range(parts)]
    out[-1] += rest
    return out


class CyclePhases(GeneratorBase):
    """The phases that create the trainings, the deliveries and the compliance visits."""

    def trainings(self) -> None:
        rng = self.rng
        n = max(1, round(200 * self.scale))
        by_community: dict[Any, list[dict]] = {}
        for fam in self.family_rows:
            by_community.setdefault(fam["community_id"], []).append(fam)
        sessions, attendance = [], []
        self.attended: dict[Any, int] = {}
        for i in range(n):
            community = self.community_rows[i % len(self.community_rows)]
            neighbour = self.community_rows[(i + 1) % len(self.community_rows)]
            first = date(2025, 1, 15)
            held = first + timedelta(days=rng.randint(0, (DEMO_TODAY - first).days))
            created = stamp(held, rng)
            session = self.base(created) | {
                "code": self.code("T"),
                "held_on": held,
                "topic": rng.choice(names.TRAINING_TOPICS),
                "community_id": community["id"],
                "trainer_name": rng.choice(self.staff),
                "trainer_id": None,
                "place": rng.choice(names.PLACES),
                "duration_hours": Decimal(rng.choice(["2.0", "3.0", "4.0", "2.5"])),
                "notes": None,
            }
            sessions.append(session)
            invited = by_community.get(community["id"], [])
            if neighbour is not community:
                invited = invited + by_community.get(neighbour["id"], [])
            rate = rng.uniform(0.45, 0.75)
            for fam in invited:
                if rng.random() < rate:
                    attendance.append(self.base(created) | {
                        "session_id": session["id"], "family_id": fam["id"],
                        "attendee_name": None if rng.random() < 0.8 else
                        f"{rng.choice(names.GIVEN_FEMALE)} {fam['head_surname'].split()[0]}",
                    })
        bulk(TrainingSession, sessions)
        bulk(Attendance, attendance)
        self.count("trainings", len(sessions))
        self.count("attendance", len(attendance))

    def deliveries(self) -> None:
        """Deliver what each signed agreement promised, in installments; a few reversals."""
        rng = self.rng
        self.family_names = {f["id"]: f"{f['head_given_names']} {f['head_surname']}"
                             for f in self.family_rows}
        rows: list[dict[str, Any]] = []
        reversals = 0
        for agreement in self.past_agreements + self.current_agreements:
            if agreement["status"] in ("draft", "signed"):
                continue
            year = agreement["year"]
            last_day = min(date(year, 12, 31), DEMO_TODAY)
            if agreement["status"] in ("suspended", "terminated"):
                last_day = min(last_day, date(year, 6, 30))
            span = (last_day - date(year, 1, 10)).days
            for code, qty, _schedule in agreement["_promised"]:
                btype = self.benefits[code]
                parts = {"coffee_seedlings": 4, "shade_seedlings": 3}.get(
                    code, qty if qty <= 8 else 1)
                if code in ("school_kits", "medical_kit", "cookstove"):
                    parts = 1
                amounts = installments(qty, parts, DELIVERY_STEPS.get(code, 1))
                for k, amount in enumerate(amounts):
                    # Later installments may not have happened yet this year.
                    if year == DEMO_TODAY.year and rng.random() < 0.04 * k:
                        continue
                    day = date(year, 1, 10) + timedelta(days=int(span * (k + rng.random()) / parts))
                    created = stamp(day, rng)
                    row = self.base(created) | {
                        "code": self.code("D", width=6),
                        "family_id": agreement["family_id"],
                        "agreement_id": agreement["id"],
                        "benefit_type_id": btype.id,
                        "item": btype.name_es,
                        "quantity": Decimal(amount),
                        "unit": btype.default_unit,
                        "delivered_on": day,
                        "delivered_by_id": None,
                        "delivered_by_name": rng.choice(self.staff),
                        # One draw, as before (the rest of the program stays the same): most
                        # receipts are thumbprints on paper; one in twenty is signed on the
                        # tablet and gets its signature image (see below).
                        "receipt_kind": ("signature" if rng.random() >= 0.95
                                         else "thumbprint_paper"),
                        "reverses_id": None,
                        "reason": None,
                        "over_promise_confirmed": False,
                        "suspected_duplicate_of_id": None,
                    }
                    rows.append(row)
                    if rng.random() < 0.005:
                        reversal_day = min(day + timedelta(days=rng.randint(0, 5)), DEMO_TODAY)
                        rows.append(row | self.base(stamp(reversal_day, rng)) | {
                            "code": self.code("D", width=6),
                            "delivered_on": reversal_day,
                            "reverses_id": row["id"],
                            "reason": "Registrada por error: cantidad equivocada (demo)",
                            "receipt_kind": "none",
                        })
                        reversals += 1
        bulk(Delivery, rows)
        receipts = []
        for n, row in enumerate(r for r in rows if r["receipt_kind"] == "signature"):
            image = self.sig_images[n % len(self.sig_images)]
            receipts.append(self.base(row["created_at"]) | {
                "agreement_id": None, "delivery_id": row["id"], "signer_role": "receipt",
                "signer_name": self.family_names[row["family_id"]], "signer_dni": None,
                "image_png": image, "image_sha256": hashlib.sha256(image).hexdigest(),
                "width": 300, "height": 100, "signed_at": row["created_at"], "place": None,
                "lat": None, "lon": None,
            })
        bulk(Signature, receipts)
        self.count("receipt_signatures", len(receipts))
        self.count("deliveries", len(rows))
        self.count("reversals", reversals)

    def visits(self) -> None:
        """About four monitoring visits per signed agreement, findings per commitment."""
        rng = self.rng
        visits, findings, sanctions = [], [], []
        # Whether an agreement is a past one, by position: ``agreement in past_agreements``
        # compared dictionaries one by one (quadratic: hours at scale 100).
        every = [(a, True) for a in self.past_agreements] + [
            (a, False) for a in self.current_agreements]
        for agreement, past in every:
            if agreement["status"] in ("draft", "signed"):
                continue
            year = agreement["year"]
            last_day = min(date(year, 12, 31), DEMO_TODAY)
            n = 3 if past else rng.choice([3, 3, 4, 4])
            troubled = agreement["status"] in ("suspended", "terminated")
            for k in range(n):
                day = date(year, 2, 1) + timedelta(
                    days=int((last_day - date(year, 2, 1)).days * (k + rng.random()) / n)
                )
                created = stamp(day, rng)
                visit = self.base(created) | {
                    "code": self.code("V", width=5),
                    "family_id": agreement["family_id"],
                    "agreement_id": agreement["id"],
                    "visited_on": day,
                    "monitor_id": None,
                    "monitor_name": rng.choice(self.staff),
                    "lat": None, "lon": None, "notes": None,
                }
                visits.append(visit)
                breached = False
                for commitment in agreement["_commitments"]:
                    roll = rng.random()
                    result = ("breached" if troubled and k == 0 and commitment["position"] == 0
                              else "not_checked" if roll < 0.05 else "partial" if roll < 0.09
                              else "breached" if roll < 0.095 else "met")
                    breached |= result == "breached"
                    findings.append(self.base(created) | {
                        "visit_id": visit["id"], "agreement_commitment_id": commitment["id"],
                        "result": result, "notes": None,
                    })
                if breached:
                    level = ("suspension" if agreement["status"] == "suspended" and k == 0
                             else "termination" if agreement["status"] == "terminated" and k == 0
                             else "warning")
                    confirmed = troubled and k == 0
                    sanctions.append(self.base(created) | {
                        "family_id": agreement["family_id"], "agreement_id": agreement["id"],
                        "visit_id": visit["id"], "level": level,
                        "status": "confirmed" if confirmed else "proposed",
                        "reason": "Incumplimiento observado en visita (demo)",
                        "decided_by_id": None,
                        "decided_by_name": DEMO_USERS[1][1] if confirmed else None,
                        "decided_at": created + timedelta(days=3) if confirmed else None,
                        "decision_notes": None,
                    })
        bulk(ComplianceVisit, visits)
        bulk(VisitFinding, findings)
        bulk(Sanction, sanctions)
        self.count("visits", len(visits))
        self.count("findings", len(findings))
        self.count("sanctions", len(sanctions))
