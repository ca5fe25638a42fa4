"""Helpers for the agreement-cycle tests: catalogues, signature images, agreements in a state.

Setting up a state (an active agreement) goes through the operations layer to keep tests fast;
the behaviour under test always goes through HTTP.
"""

from __future__ import annotations

import base64
import io
import random
import uuid
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from fieldapp.extensions import db

YEAR = 2026
START, END = date(YEAR, 1, 1), date(YEAR, 12, 31)


def png_bytes(width: int = 600, height: int = 200, ink: bool = True, mode: str = "RGB") -> bytes:
    """A PNG like the signature pad makes: white with a dark scribble."""
    img = Image.new(mode, (width, height), "white")
    if ink:
        draw = ImageDraw.Draw(img)
        rng = random.Random(width * height)  # noqa: S311 - a test scribble, not a secret
        points = [(20 + i * (width - 40) / 30, height / 2 + rng.uniform(-height / 3, height / 3))
                  for i in range(31)]
        draw.line(points, fill="black", width=3)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


SIGNATURE = data_url(png_bytes())


def seed(app: Flask) -> None:
    """Load the default catalogues."""
    with app.app_context():
        from fieldapp.agreements.catalogue import seed_catalogues

        seed_catalogues()
        db.session.commit()


def catalogue(app: Flask) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    """Commitment and benefit type ids by code."""
    from sqlalchemy import select

    from fieldapp.agreements.models import BenefitType, CommitmentType

    with app.app_context():
        commitments = {c.code: c.id for c in db.session.execute(select(CommitmentType)).scalars()}
        benefits = {b.code: b.id for b in db.session.execute(select(BenefitType)).scalars()}
    return commitments, benefits


def draft_form(app: Flask, family_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    """The fields of the draft form, as a browser posts them."""
    commitments, _ = catalogue(app)
    data: dict[str, Any] = {
        "family_id": str(family_id),
        "period_start": START.isoformat(),
        "period_end": END.isoformat(),
        "commitments": [str(commitments["no_clearing"]), str(commitments["no_hunting"]),
                        str(commitments["attend_trainings"])],
        "qty_coffee_seedlings": "1000",
        "unit_coffee_seedlings": "plantones",
        "schedule_coffee_seedlings": "en 4 entregas",
        "qty_medical_kit": "1",
        "unit_medical_kit": "botiquines",
        "qty_school_kits": "2",
        "unit_school_kits": "kits",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def sign_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "mode": "pad",
        "family_name": "María Huamán Tuanama",
        "family_dni": "",
        "family_signature": SIGNATURE,
        "staff_name": "Wilmer Tuanama",
        "staff_signature": SIGNATURE,
        "witness_name": "",
        "witness_signature": "",
        "place": "Santa Rosa",
        "lat": "-5.71",
        "lon": "-77.5",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def login(app: Flask, role: str, username: str | None = None,
          communities: tuple[str, ...] = ()) -> FlaskClient:
    """A new test client logged in as ``role`` (through the session: logging in through the form
    costs two scrypt hashes, half a second on a busy machine; the login form has its own tests).
    """
    from sqlalchemy import select

    from fieldapp.auth.models import User
    from fieldapp.communities.models import Community

    username = username or f"cycle-{role.replace('_', '-')}"
    with app.app_context():
        user = db.session.execute(
            select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = User(username=username, full_name=f"Test {role}", role=role,
                        password_hash="!unusable", locale=None)
            user.communities = list(db.session.execute(
                select(Community).where(Community.code.in_(communities))).scalars())
            db.session.add(user)
            db.session.commit()
        session_id = user.get_id()  # what Flask-Login stores: the id and the session token
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def agreement_in_state(app: Flask, family_id: uuid.UUID, status: str = "active",
                       start: date = START, end: date = END,
                       benefits: dict[str, str] | None = None) -> uuid.UUID:
    """An agreement brought to ``status`` through the operations (fast set-up)."""
    from fieldapp.agreements.operations import change_status, create_agreement, sign_agreement
    from fieldapp.families.models import Family

    commitments, benefit_ids = catalogue(app)
    benefits = benefits or {"coffee_seedlings": "1000", "medical_kit": "1", "school_kits": "2"}
    with app.test_request_context():
        family = db.session.get(Family, family_id)
        agreement = create_agreement(family, {
            "period_start": start, "period_end": end,
            "commitment_type_ids": [commitments["no_clearing"], commitments["no_hunting"],
                                    commitments["attend_trainings"]],
            "benefits": [{"benefit_type_id": benefit_ids[code], "quantity": qty, "unit": None}
                         for code, qty in benefits.items()],
        })
        if status != "draft":
            sign_agreement(agreement, {"mode": "paper", "family_name": family.head_name,
                                       "staff_name": "Staff", "paper_date": start})
        path = {"draft": [], "signed": [], "active": ["active"],
                "suspended": ["active", "suspended"], "completed": ["active", "completed"],
                "terminated": ["active", "terminated"]}[status]
        for to in path:
            change_status(agreement, to, "test reason")
        db.session.commit()
        return agreement.id


def get_agreement(app: Flask, agreement_id: uuid.UUID) -> Any:
    from fieldapp.agreements.queries import load_agreement

    with app.app_context():
        agreement = load_agreement(agreement_id)
        db.session.expunge_all()
        return agreement

