"""The demo program's agreements: one for 2026 per family, some renewing a 2025 one.

Each agreement gets its commitments, the benefits it promises, and, once signed, its signed
content and hash from the one canonical serialiser; a tenth of the signed ones were signed on
the tablet and carry drawn signature images (small deterministic scribbles).
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fieldapp.agreements.content import canonical_content, content_hash
from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    Signature,
)
from fieldapp.communities.models import Community
from fieldapp.demo.base import GeneratorBase, bulk, stamp
from fieldapp.extensions import db
from fieldapp.families.models import Family


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


class AgreementPhases(GeneratorBase):
    """The phase that creates the agreements with their commitments, benefits and signatures."""

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
            bulk(model, rows[model])
        self.count("agreements", len(rows[Agreement]))
        self.count("signatures", len(rows[Signature]))

    def _agreement(self, fam: dict[str, Any], communities: dict, year: int, status: str,
                   previous: dict[str, Any] | None, rng: random.Random, sig_images: list[bytes],
                   rows: dict[type, list[dict[str, Any]]]) -> dict[str, Any]:
        start, end = date(year, 1, 1), date(year, 12, 31)
        signed_day = start - timedelta(days=rng.randint(5, 40))
        created = stamp(signed_day - timedelta(days=rng.randint(1, 20)), rng)
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
            signed_at = stamp(signed_day, rng)
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
