"""Wiring fieldapp to the sync engine: which tables sync, how each kind merges, whose they are.

``create_app`` calls :func:`init_app` (like an extension's ``init_app``): the engine never imports
fieldapp, it learns the tables from here. Tables not listed never sync: users, login failures,
code sequences, idempotency keys, central's nodes and the engine's own bookkeeping.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sync.engine import SyncEngine
from sync.registry import TableSpec

engine = SyncEngine()

#: How far apart two deliveries of the same thing to the same family may be and still look
#: like one delivery recorded twice.
DOUBLE_DELIVERY_DAYS = 1


def find_double_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """New deliveries that look like one already recorded: same family, benefit, item and
    quantity within a day, neither a reversal nor reversed. Returns (new id, earlier id)."""
    from fieldapp.deliveries.models import Delivery

    candidates = [r for r in rows if not r.get("reverses_id") and not r.get("voided")]
    if not candidates:
        return []
    new_ids = {r["id"] for r in rows}
    families = {r["family_id"] for r in candidates}
    existing: dict[Any, list[Any]] = {}
    reversed_ids: set[Any] = set()
    fam_list = list(families)
    for start in range(0, len(fam_list), 500):
        chunk = fam_list[start : start + 500]
        for d in session.execute(
            select(Delivery.id, Delivery.family_id, Delivery.benefit_type_id, Delivery.item,
                   Delivery.quantity, Delivery.delivered_on, Delivery.reverses_id,
                   Delivery.voided).where(Delivery.family_id.in_(chunk))
        ):
            if d.reverses_id is not None:
                reversed_ids.add(d.reverses_id)
                continue
            if not d.voided:
                existing.setdefault(d.family_id, []).append(d)
    doubles = []
    window = timedelta(days=DOUBLE_DELIVERY_DAYS)
    for row in candidates:
        for other in existing.get(row["family_id"], []):
            if (
                other.id != row["id"]
                and other.id not in reversed_ids
                and other.benefit_type_id == row["benefit_type_id"]
                and other.item == row["item"]
                and other.quantity == row["quantity"]
                and abs(other.delivered_on - row["delivered_on"]) <= window
                # Two new ones doubling each other: flag only the later of the pair.
                and not (other.id in new_ids and str(other.id) > str(row["id"]))
            ):
                doubles.append((row["id"], other.id))
                break
    return doubles


def table_specs() -> list[TableSpec]:
    """The synced tables, parents first, with their kind and scope path."""
    from fieldapp.agreements.models import (
        Agreement,
        AgreementBenefit,
        AgreementCommitment,
        BenefitType,
        CommitmentType,
        Signature,
    )
    from fieldapp.audit.models import AuditEntry
    from fieldapp.communities.models import Community
    from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family
    from fieldapp.trainings.models import Attendance, TrainingSession

    by_family = "family_id->families"
    return [
        TableSpec(Community, scope="id"),
        TableSpec(CommitmentType),
        TableSpec(BenefitType),
        TableSpec(Family, scope="community_id"),
        TableSpec(
            Agreement,
            kind="agreement",
            scope=by_family,
            frozen_when="content_hash",
            mutable=frozenset({"status", "status_reason", "status_changed_at", "notes",
                               "conflict_flag", "updated_at"}),
            supersedes="supersedes_id",
            flag_column="conflict_flag",
        ),
        TableSpec(AgreementCommitment, scope="agreement_id->agreements"),
        TableSpec(AgreementBenefit, scope="agreement_id->agreements"),
        TableSpec(TrainingSession, scope="community_id"),
        TableSpec(
            Attendance,
            kind="set",
            scope="session_id->training_sessions",
            scope2=by_family,
            natural_key=("session_id", "family_id"),
        ),
        TableSpec(
            Delivery,
            kind="append",
            scope=by_family,
            mutable=frozenset({"suspected_duplicate_of_id", "over_promise_confirmed",
                               "updated_at"}),
            flag_column="suspected_duplicate_of_id",
            find_doubles=find_double_deliveries,
        ),
        TableSpec(
            Signature,
            kind="append",
            scope="agreement_id->agreements|delivery_id->benefit_deliveries",
            mutable=frozenset({"updated_at"}),
        ),
        TableSpec(ComplianceVisit, kind="append", scope=by_family,
                  mutable=frozenset({"notes", "lat", "lon", "updated_at"})),
        TableSpec(VisitFinding, kind="append", scope="visit_id->compliance_visits",
                  mutable=frozenset({"result", "notes", "updated_at"})),
        TableSpec(Sanction, scope=by_family),
        TableSpec(AuditEntry, kind="append", scope=by_family, distribute=False),
    ]


def schema_version(session: Session) -> str:
    """The database's Alembic revision(s), e.g. ``0002_sync``."""
    heads = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return "+".join(sorted(heads)) or "none"


def init_app(app: Flask) -> None:
    """Register fieldapp's tables with the sync engine, its blueprint and its commands."""
    import fieldapp
    from fieldapp.extensions import csrf, db
    from fieldapp.models import Base
    from fieldapp.nodes.directory import Directory

    engine.init_app(
        app,
        session=db.session,
        metadata=Base.metadata,
        tables=table_specs(),
        schema_version=schema_version,
        app_version=fieldapp.__version__,
        directory=Directory() if app.config["ROLE"] == "central" else None,
    )
    from fieldapp.auth.access import public

    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("sync_api."):
            public(view)
    if "sync_api" in app.blueprints:
        csrf.exempt(app.blueprints["sync_api"])

    from fieldapp.nodes import cli

    cli.init_app(app)


def capture_bulk(model: Any, ids: list[Any]) -> int:
    """Capture rows written in bulk with Core ``insert()`` (the demo generator), see
    :func:`sync.capture.capture_rows`."""
    from fieldapp.extensions import db
    from sync.capture import capture_rows

    return capture_rows(db.session, model, ids)
