"""Generate the deterministic demo program: communities, families, agreements, the cycle.

Scale 1 is the Alto Mayo program: 25 communities, 1,033 families, their agreements, ~200
trainings with ~10,000 attendance rows, ~25,000 deliveries and ~4,000 compliance visits.
Bulk rows go in through Core inserts in one transaction; the same seed gives the same data.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from fieldapp.agreements.catalogue import seed_catalogues
from fieldapp.agreements.content import canonical_content, content_hash
from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
    Signature,
)
from fieldapp.auth.models import User
from fieldapp.codes import CodeSequence
from fieldapp.communities.models import Community
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.deliveries.models import Delivery
from fieldapp.demo import names
from fieldapp.extensions import db
from fieldapp.families.models import Family, search_text_for
from fieldapp.models import new_id
from fieldapp.trainings.models import Attendance, TrainingSession

#: The demo's "today": everything is dated on or before it, whatever the machine's clock says.
DEMO_TODAY = date(2026, 10, 31)
DEMO_PASSWORD = "fieldapp-demo"  # noqa: S105 - printed by the README's run command on purpose
DEMO_USERS = [
    ("admin", "Ana Torres (administradora)", "admin"),
    ("coordinadora", "Rosa Fernández Guevara", "coordinator"),
    ("promotor", "Wilmer Tuanama Sánchez", "field_staff"),
    ("promotora", "Nilda Chuquizuta Díaz", "field_staff"),
]
BATCH = 5000


def has_data() -> bool:
    """Whether the database already holds families."""
    return bool(db.session.scalar(select(func.count(Family.id))))


def _bulk(model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start : start + BATCH])


def _signature_png(rng: random.Random) -> bytes:
    """A small deterministic scribble that looks like a signature (PNG, 1-bit)."""
    from PIL import Image, ImageDraw

    img = Image.new("1", (300, 100), 1)
    draw = ImageDraw.Draw(img)
    x, y = 15.0, 60.0
    points = []
    for step in range(60):
        x += rng.uniform(2, 6)
        y = 55 + 25 * math.sin(step / rng.uniform(2, 4)) + rng.uniform(-6, 6)
        points.append((x, y))
    draw.line(points, fill=0, width=2)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _stamp(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=UTC)


class _Generator:
    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self.node_id = str(current_app.config["NODE_ID"])
        self.prefix = current_app.config["PROGRAM_PREFIX"]
        self.node_code = current_app.config["NODE_CODE"]
        self.counters: dict[str, int] = {}
        self.stats: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------------------
    def code(self, *parts: str | int, width: int = 4) -> str:
        prefix = "-".join([self.prefix, *map(str, parts), self.node_code])
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]:0{width}d}"

    def base(self, created: datetime) -> dict[str, Any]:
        return {
            "id": new_id(),
            "created_at": created,
            "updated_at": created,
            "origin_node": self.node_id,
            "version": 1,
            "voided": False,
        }

    def count(self, key: str, n: int) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    # -- phases ----------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        seed_catalogues()
        self.commitments = list(
            db.session.execute(select(CommitmentType).order_by(CommitmentType.position)).scalars()
        )
        self.benefits = {
            b.code: b for b in db.session.execute(select(BenefitType)).scalars()
        }
        self.users()
        self.communities()
        self.families()
        self.agreements()
        self.trainings()
        self.deliveries()
        self.visits()
        for prefix, value in self.counters.items():
            seq = db.session.get(CodeSequence, prefix) or CodeSequence(prefix=prefix, last_value=0)
            seq.last_value = max(seq.last_value, value)
            db.session.add(seq)
        db.session.commit()
        return self.stats

    def users(self) -> None:
        have = set(db.session.execute(select(User.username)).scalars())
        for username, full_name, role in DEMO_USERS:
            if username not in have:
                user = User(username=username, full_name=full_name, role=role, locale="es")
                user.set_password(DEMO_PASSWORD)
                db.session.add(user)
        self.staff = [u[1] for u in DEMO_USERS if u[2] == "field_staff"] + [DEMO_USERS[1][1]]
        db.session.flush()

    def communities(self) -> None:
        rng = self.rng
        n = max(1, round(25 * self.scale))
        self.community_rows = []
        existing = db.session.scalar(select(func.count(Community.id))) or 0
        for i in range(n):
            name = names.COMMUNITIES[i % len(names.COMMUNITIES)]
            if i >= len(names.COMMUNITIES):
                name = f"{name} {i // len(names.COMMUNITIES) + 1}"
            row = self.base(datetime(2024, 1, 10, tzinfo=UTC)) | {
                "code": f"C{existing + i + 1:03d}",
                "name": name,
                "district": rng.choice(names.DISTRICTS),
                "province": "Moyobamba" if rng.random() < 0.6 else "Rioja",
                "sector": rng.choice(["Alto Mayo", "Naranjillo", "Yuracyacu", "Soritor"]),
                "lat": round(-5.72 + rng.uniform(-0.2, 0.2), 5),
                "lon": round(-77.55 + rng.uniform(-0.25, 0.25), 5),
            }
            self.community_rows.append(row)
        _bulk(Community, self.community_rows)
        self.count("communities", n)

    def families(self) -> None:
        rng = self.rng
        n = max(1, round(1033 * self.scale))
        # Community sizes vary (20 to 70 families), as they do on the ground.
        weights = [rng.uniform(0.5, 1.7) for _ in self.community_rows]
        self.family_rows = []
        used_dni: set[str] = set()
        for _ in range(n):
            community = rng.choices(self.community_rows, weights)[0]
            female = rng.random() < 0.35
            given = rng.choice(names.GIVEN_FEMALE if female else names.GIVEN_MALE)
            surname = f"{rng.choice(names.SURNAMES)} {rng.choice(names.SURNAMES)}"
            dni = None
            if rng.random() < 0.9:
                dni = f"{rng.randint(10_000_000, 79_999_999)}"
                while dni in used_dni:
                    dni = f"{rng.randint(10_000_000, 79_999_999)}"
                used_dni.add(dni)
            plot = round(rng.uniform(1.5, 12), 2)
            forest = round(plot * rng.uniform(0.2, 0.6), 2)
            coffee = round((plot - forest) * rng.uniform(0.4, 0.95), 2)
            created = datetime(2024, 2, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 600))
            row = self.base(created) | {
                "code": self.code(),
                "community_id": community["id"],
                "head_given_names": given,
                "head_surname": surname,
                "dni": dni,
                "members_count": rng.randint(1, 9),
                "phone": f"9{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.7 else None,
                "lat": round(community["lat"] + rng.uniform(-0.03, 0.03), 6),
                "lon": round(community["lon"] + rng.uniform(-0.03, 0.03), 6),
                "plot_name": rng.choice(["La Loma", "El Bajo", "Quebrada", "El Mirador", "Chacra"]),
                "plot_ha": plot,
                "forest_ha": forest,
                "coffee_ha": coffee,
                "data_consent": True,
                "consent_at": created,
                "status": "active",
                "notes": None,
            }
            row["search_text"] = search_text_for(row)
            self.family_rows.append(row)
        _bulk(Family, self.family_rows)
        self.count("families", n)

    def agreements(self) -> None:
        """One 2026 agreement per family; a fifth renewed a completed 2025 agreement."""
        rng = self.rng
        communities = {c["id"]: c for c in self.community_rows}
        sig_images = [_signature_png(rng) for _ in range(12)]
        self.sig_images = sig_images
        rows: dict[type, list[dict[str, Any]]] = {
            Agreement: [], AgreementCommitment: [], AgreementBenefit: [], Signature: []
        }
        self.current_agreements: list[dict[str, Any]] = []
        self.past_agreements: list[dict[str, Any]] = []
        for fam in self.family_rows:
            roll = rng.random()
            status = (
                "draft" if roll < 0.03 else "signed" if roll < 0.06 else
                "suspended" if roll < 0.11 else "terminated" if roll < 0.125 else "active"
            )
            previous = None
            if rng.random() < 0.2 and status != "draft":
                previous = self._agreement(fam, communities, 2025, "completed", None, rng,
                                           sig_images, rows)
                self.past_agreements.append(previous)
            current = self._agreement(fam, communities, 2026, status, previous, rng, sig_images,
                                      rows)
            self.current_agreements.append(current)
        for model in (Agreement, AgreementCommitment, AgreementBenefit, Signature):
            _bulk(model, rows[model])
        self.count("agreements", len(rows[Agreement]))
        self.count("signatures", len(rows[Signature]))

    def _agreement(self, fam: dict[str, Any], communities: dict, year: int, status: str,
                   previous: dict[str, Any] | None, rng: random.Random, sig_images: list[bytes],
                   rows: dict[type, list[dict[str, Any]]]) -> dict[str, Any]:
        start, end = date(year, 1, 1), date(year, 12, 31)
        signed_day = start - timedelta(days=rng.randint(5, 40))
        created = _stamp(signed_day - timedelta(days=rng.randint(1, 20)), rng)
        agreement = self.base(created) | {
            "number": self.code(year),
            "family_id": fam["id"],
            "year": year,
            "period_start": start,
            "period_end": end,
            "status": status,
            "kind": "renewal" if previous else "original",
            "version_no": 1,
            "supersedes_id": previous["id"] if previous else None,
            "signed_on_paper": False,
            "created_by_name": rng.choice(self.staff),
            "status_changed_at": created,
            "status_reason": None,
        }
        chosen = [c for c in self.commitments if c.code not in ("no_expansion",)
                  or rng.random() < 0.5]
        commitment_rows = [
            self.base(created) | {
                "agreement_id": agreement["id"], "commitment_type_id": c.id,
                "text_es": c.text_es, "text_en": c.text_en, "position": pos,
            }
            for pos, c in enumerate(chosen)
        ]
        promised = self._promises(fam, rng)
        benefit_rows = [
            self.base(created) | {
                "agreement_id": agreement["id"], "benefit_type_id": self.benefits[code].id,
                "quantity": Decimal(qty), "unit": self.benefits[code].default_unit,
                "schedule": schedule, "position": pos,
            }
            for pos, (code, qty, schedule) in enumerate(promised)
        ]
        agreement["_commitments"] = commitment_rows
        agreement["_promised"] = promised
        signature_rows: list[dict[str, Any]] = []
        if status != "draft":
            signed_at = _stamp(signed_day, rng)
            community = communities[fam["community_id"]]
            drawn = rng.random() < 0.1
            agreement |= {
                "signed_at": signed_at,
                "signed_place": community["name"],
                "signed_on_paper": not drawn,
                "status_changed_at": signed_at,
            }
            if drawn:
                for role, name in (("family", f"{fam['head_given_names']} {fam['head_surname']}"),
                                   ("staff", agreement["created_by_name"])):
                    image = rng.choice(sig_images)
                    signature_rows.append(self.base(signed_at) | {
                        "agreement_id": agreement["id"], "delivery_id": None,
                        "signer_role": role, "signer_name": name,
                        "signer_dni": fam["dni"] if role == "family" else None,
                        "image_png": image, "image_sha256": hashlib.sha256(image).hexdigest(),
                        "width": 300, "height": 100, "signed_at": signed_at,
                        "place": community["name"], "lat": None, "lon": None,
                    })
            if status == "suspended":
                agreement["status_reason"] = "Suspendido por incumplimiento (demo)"
            elif status == "terminated":
                agreement["status_reason"] = "Resuelto por incumplimiento reiterado (demo)"
            content = self._content(agreement, fam, community, commitment_rows, benefit_rows,
                                    signature_rows)
            agreement["signed_content"] = content
            agreement["content_hash"] = content_hash(content)
        rows[Agreement].append({k: v for k, v in agreement.items() if not k.startswith("_")})
        rows[AgreementCommitment].extend(commitment_rows)
        rows[AgreementBenefit].extend(benefit_rows)
        rows[Signature].extend(signature_rows)
        return agreement

    def _content(self, agreement: dict, fam: dict, community: dict, commitments: list,
                 benefits: list, signatures: list) -> dict[str, Any]:
        """Build transient objects and ask the one canonical serialiser for the content."""
        types_c = {c.id: c for c in self.commitments}
        types_b = {b.id: b for b in self.benefits.values()}
        transient = Agreement(
            **{k: v for k, v in agreement.items() if not k.startswith("_")},
            family=Family(
                **{k: fam[k] for k in ("id", "code", "head_given_names", "head_surname", "dni")},
                community=Community(code=community["code"], name=community["name"]),
            ),
            commitments=[
                AgreementCommitment(**row, commitment_type=types_c[row["commitment_type_id"]])
                for row in commitments
            ],
            benefits=[
                AgreementBenefit(**row, benefit_type=types_b[row["benefit_type_id"]])
                for row in benefits
            ],
            signatures=[Signature(**row) for row in signatures],
        )
        content = canonical_content(transient)
        for obj in (transient, transient.family, transient.family.community, *transient.commitments,
                    *transient.benefits, *transient.signatures):
            if obj in db.session:
                db.session.expunge(obj)
        return content

    @staticmethod
    def _promises(fam: dict[str, Any], rng: random.Random) -> list[tuple[str, int, str]]:
        kits = max(1, min(4, fam["members_count"] - 2))
        promised = [
            ("coffee_training", 8, "mensual, de marzo a octubre"),
            ("technical_assistance", 6, "bimestral"),
            ("school_kits", kits, "marzo"),
            ("medical_kit", 1, "anual"),
            ("coffee_seedlings", rng.choice([500, 800, 1000, 1200]), "en 4 entregas"),
            ("shade_seedlings", rng.choice([100, 150, 200]), "en 3 entregas"),
        ]
        if rng.random() < 0.3:
            promised.append(("cookstove", 1, "una vez"))
        return promised

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
            created = _stamp(held, rng)
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
        _bulk(TrainingSession, sessions)
        _bulk(Attendance, attendance)
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
                per = Decimal(qty) / parts if code not in ("school_kits",) else Decimal(qty)
                for k in range(parts):
                    # Later installments may not have happened yet this year.
                    if year == DEMO_TODAY.year and rng.random() < 0.04 * k:
                        continue
                    day = date(year, 1, 10) + timedelta(days=int(span * (k + rng.random()) / parts))
                    created = _stamp(day, rng)
                    row = self.base(created) | {
                        "code": self.code("D", width=6),
                        "family_id": agreement["family_id"],
                        "agreement_id": agreement["id"],
                        "benefit_type_id": btype.id,
                        "item": btype.name_es,
                        "quantity": per.quantize(Decimal("0.01")),
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
                        rows.append(row | self.base(_stamp(reversal_day, rng)) | {
                            "code": self.code("D", width=6),
                            "delivered_on": reversal_day,
                            "reverses_id": row["id"],
                            "reason": "Registrada por error: cantidad equivocada (demo)",
                            "receipt_kind": "none",
                        })
                        reversals += 1
        _bulk(Delivery, rows)
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
        _bulk(Signature, receipts)
        self.count("receipt_signatures", len(receipts))
        self.count("deliveries", len(rows))
        self.count("reversals", reversals)

    def visits(self) -> None:
        """About four monitoring visits per signed agreement, findings per commitment."""
        rng = self.rng
        visits, findings, sanctions = [], [], []
        for agreement in self.past_agreements + self.current_agreements:
            if agreement["status"] in ("draft", "signed"):
                continue
            year = agreement["year"]
            last_day = min(date(year, 12, 31), DEMO_TODAY)
            n = 3 if agreement in self.past_agreements else rng.choice([3, 3, 4, 4])
            troubled = agreement["status"] in ("suspended", "terminated")
            for k in range(n):
                day = date(year, 2, 1) + timedelta(
                    days=int((last_day - date(year, 2, 1)).days * (k + rng.random()) / n)
                )
                created = _stamp(day, rng)
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
        _bulk(ComplianceVisit, visits)
        _bulk(VisitFinding, findings)
        _bulk(Sanction, sanctions)
        self.count("visits", len(visits))
        self.count("findings", len(findings))
        self.count("sanctions", len(sanctions))


def generate(scale: float = 1.0, seed: int = 2026) -> dict[str, int]:
    """Create the demo program in the current app's database and commit it.

    :param scale: 1 is the Alto Mayo program (1,033 families); 10 is ten times it.
    :param seed: the random seed; the same seed gives the same program.
    :returns: how many records of each kind were created.
    """
    return _Generator(scale, seed).run()


def iter_demo_logins() -> Iterable[tuple[str, str, str]]:
    """The demo users as (user name, password, role), for the README and the run command."""
    for username, _name, role in DEMO_USERS:
        yield username, DEMO_PASSWORD, role

