"""Wiring fieldapp to the sync engine: which tables sync, how each kind merges, whose they are.

``create_app`` calls :func:`init_app` (like an extension's ``init_app``): the engine never imports
fieldapp, it learns the tables from here. Tables not listed never sync: users, login failures,
code sequences, idempotency keys, central's nodes and the engine's own bookkeeping.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Uuid, and_, any_, bindparam, cast, select, text, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from sync.engine import SyncEngine
from sync.registry import TableSpec
from sync.storage.fastsql import is_sqlite
from sync.storage.sqlite_values import uuid_of_hex

engine = SyncEngine()

#: Catalogue entries (commitment and benefit types) are identified by their code on every
#: installation: their id is ``uuid5(CATALOGUE_NAMESPACE, "<table>:<code>")``. Two nodes that
#: seed the default catalogues, or add the same code offline, make the same record, which
#: central merges field by field instead of refusing the second as a duplicate code. Migration
#: ``0007_sync_catalogue_ids`` gives existing entries these ids (it keeps its own copy of the
#: namespace: never change it).
CATALOGUE_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e08-9a61-2d4c8f0b7e13")
_catalogue_ids_installed = False


def catalogue_id(table: str, code: str) -> uuid.UUID:
    """The id of the catalogue entry ``code`` of ``table`` (the same on every installation)."""
    return uuid.uuid5(CATALOGUE_NAMESPACE, f"{table}:{code}")


def _catalogue_entry_id(target: Any, args: Any, kwargs: dict[str, Any]) -> None:
    code = kwargs.get("code")
    if kwargs.get("id") is None and isinstance(code, str) and code:
        kwargs["id"] = catalogue_id(target.__tablename__, code)


def install_catalogue_ids() -> None:
    """Give new catalogue entries the id of their code (once per process)."""
    global _catalogue_ids_installed
    if _catalogue_ids_installed:
        return
    from sqlalchemy import event

    from fieldapp.agreements.models import BenefitType, CommitmentType

    for model in (CommitmentType, BenefitType):
        event.listen(model, "init", _catalogue_entry_id)
    _catalogue_ids_installed = True

#: How far apart two deliveries of the same thing to the same family may be and still look
#: like one delivery recorded twice.
DOUBLE_DELIVERY_DAYS = 1


def find_double_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """New deliveries that look like one already recorded: same family, benefit, item and
    quantity within a day, neither a reversal nor reversed. Returns (new id, earlier id).

    One query per batch, joined on the (family, date) index.
    """
    from fieldapp.deliveries.models import Delivery

    new_ids = [r["id"] for r in rows if not r.get("reverses_id") and not r.get("voided")]
    if not new_ids:
        return []
    if is_sqlite(session):
        found = _sqlite_doubles(session, Delivery.__table__.name, new_ids)
    else:
        found = _postgres_doubles(session, Delivery, new_ids)
    doubles: dict[Any, Any] = {}
    fresh = set(new_ids)
    # "Not a reversal, not voided" is checked here: in SQL, SQLite would pick the index on
    # reverses_id (nearly every row is NULL) and scan the whole table.
    for new_id, old_id, old_reverses, old_voided in found:
        if old_reverses is not None or old_voided:
            continue
        # Two new ones doubling each other: flag only the later of the pair.
        if old_id in fresh and old_id > new_id:
            continue
        doubles.setdefault(new_id, old_id)
    return list(doubles.items())


def _sqlite_doubles(session: Session, table: str, new_ids: list[uuid.UUID]) -> list[tuple]:
    """(new id, earlier id, its reversed id, voided) candidates, ids as stored (hex), without
    SQLAlchemy's per-value processing: the look-up runs for every page of deliveries pushed."""
    days = DOUBLE_DELIVERY_DAYS
    sql = (  # the table name comes from the model, never from a request
        f"SELECT new.id, old.id, old.reverses_id, old.voided FROM {table} AS new "  # noqa: S608
        f"JOIN {table} AS old ON old.family_id = new.family_id "
        "AND old.benefit_type_id = new.benefit_type_id AND old.item = new.item "
        f"AND old.quantity = new.quantity AND old.delivered_on >= date(new.delivered_on, "
        f"'-{days} day') AND old.delivered_on <= date(new.delivered_on, '+{days} day') "
        "AND old.id != new.id "
        f"WHERE new.id IN ({{marks}}) AND NOT EXISTS (SELECT 1 FROM {table} AS reversal "
        "WHERE reversal.reverses_id = old.id) ORDER BY new.id, old.created_at, old.id"
    )
    conn = session.connection()
    found = []
    for start in range(0, len(new_ids), 900):
        chunk = tuple(i.hex for i in new_ids[start : start + 900])
        for new_id, old_id, reverses, voided in conn.exec_driver_sql(
            sql.format(marks=",".join("?" * len(chunk))), chunk
        ):
            found.append((uuid_of_hex(new_id), uuid_of_hex(old_id), reverses, bool(voided)))
    return found


def _postgres_doubles(session: Session, delivery: Any, new_ids: list[uuid.UUID]) -> list[tuple]:
    """(new id, earlier id, its reversed id, voided) candidates on PostgreSQL."""
    new = aliased(delivery, name="new")
    old = aliased(delivery, name="old")
    reversal = aliased(delivery, name="reversal")
    low = new.delivered_on - timedelta(days=DOUBLE_DELIVERY_DAYS)
    high = new.delivered_on + timedelta(days=DOUBLE_DELIVERY_DAYS)
    like_new = and_(
        old.family_id == new.family_id,
        old.benefit_type_id == new.benefit_type_id,
        old.item == new.item,
        old.quantity == new.quantity,
        old.delivered_on >= low,
        old.delivered_on <= high,
        old.id != new.id,
    )
    not_reversed = ~select(reversal.id).where(reversal.reverses_id == old.id).exists()
    # Each new delivery looks up its family's deliveries (LATERAL, so the (family, date)
    # index serves every look-up). A plain join let the planner start from the whole table
    # when its statistics were stale, as they are while a new central takes its first pushes:
    # each page then cost more than the one before (34 s for the 22nd page of a scale-1 push).
    match = (
        select(old.id.label("old_id"), old.reverses_id, old.voided, old.created_at)
        .where(like_new, not_reversed)
        .lateral("match")
    )
    found = []
    for start in range(0, len(new_ids), 2000):
        # The new ids as one array parameter: an IN list binds (and processes) each id apart.
        ids = cast(bindparam("ids", new_ids[start : start + 2000], type_=postgresql.ARRAY(Uuid)),
                   postgresql.ARRAY(Uuid))
        stmt = (
            select(new.id, match.c.old_id, match.c.reverses_id, match.c.voided)
            .select_from(new)
            .join(match, true())
            .where(new.id == any_(ids))
            .order_by(new.id, match.c.created_at, match.c.old_id)
        )
        found.extend(session.execute(stmt).all())
    return found


def find_duplicate_dnis(session: Session, rows: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """New families whose DNI another live family holds (the same person registered on two
    nodes): (new id, the other family's id). Both are kept; a coordinator looks at them. One
    query per run of inserted families."""
    from fieldapp.families.models import Family

    new = {r["id"]: r["dni"] for r in rows if r.get("dni") and not r.get("voided")}
    if not new:
        return []
    holders: dict[str, list[Any]] = {}
    dnis = sorted(set(new.values()))
    for start in range(0, len(dnis), 500):
        for row_id, dni in session.execute(
            select(Family.id, Family.dni).where(Family.dni.in_(dnis[start : start + 500]),
                                                Family.voided.is_(False))
            .order_by(Family.created_at, Family.id)
        ):
            holders.setdefault(dni, []).append(row_id)
    doubles = []
    for row_id, dni in new.items():
        # The earliest other holder; of two new ones with one DNI only the later is flagged.
        others = [other for other in holders.get(dni, []) if other != row_id
                  and not (other in new and other > row_id)]
        if others:
            doubles.append((row_id, others[0]))
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
    from fieldapp.grievances.models import Grievance, GrievanceStep
    from fieldapp.media.models import Attachment
    from fieldapp.nodes.rules import (
        AgreementRules,
        AlertCheckRules,
        AttachmentRules,
        CatalogueRules,
        CodeRules,
        FamilyRules,
        GrievanceRules,
        GrievanceStepRules,
        MergedFamilyRecords,
        PlotBoundaryRules,
        PlotRules,
        SignedTermsRules,
    )
    from fieldapp.plots.models import AlertCheck, Plot, PlotBoundary
    from fieldapp.trainings.models import Attendance, TrainingSession

    by_family = "family_id->families"
    return [
        TableSpec(Community, scope="id"),
        # The catalogues are central's: a node brings only the program's default entries,
        # whichever installation seeded them (their origin says nothing).
        TableSpec(CommitmentType, rules=CatalogueRules("commitment_types"), origin_column=None),
        TableSpec(BenefitType, rules=CatalogueRules("benefit_types"), origin_column=None),
        TableSpec(Family, scope="community_id", rules=FamilyRules(),
                  find_doubles=find_duplicate_dnis, doubles_columns=("dni",),
                  doubles_kind="duplicate_dni"),
        TableSpec(
            Agreement,
            kind="agreement",
            scope=by_family,
            supersedes="supersedes_id",
            flag_column="conflict_flag",
            rules=MergedFamilyRecords(Agreement, AgreementRules()),
        ),
        TableSpec(AgreementCommitment, scope="agreement_id->agreements",
                  rules=SignedTermsRules("agreement_commitments")),
        TableSpec(AgreementBenefit, scope="agreement_id->agreements",
                  rules=SignedTermsRules("agreement_benefits")),
        TableSpec(TrainingSession, scope="community_id", rules=CodeRules("code")),
        TableSpec(
            Attendance,
            kind="set",
            scope="session_id->training_sessions",
            scope2=by_family,
            natural_key=("session_id", "family_id"),
            rules=MergedFamilyRecords(Attendance),
        ),
        TableSpec(
            Delivery,
            kind="append",
            scope=by_family,
            mutable=frozenset({"suspected_duplicate_of_id", "over_promise_confirmed",
                               "updated_at"}),
            flag_column="suspected_duplicate_of_id",
            find_doubles=find_double_deliveries,
            doubles_columns=("reverses_id",),
            rules=MergedFamilyRecords(Delivery, CodeRules("code")),
        ),
        TableSpec(
            Signature,
            kind="append",
            scope="agreement_id->agreements|delivery_id->benefit_deliveries",
            mutable=frozenset({"updated_at"}),
            rules=SignedTermsRules("signatures"),
        ),
        TableSpec(ComplianceVisit, kind="append", scope=by_family,
                  mutable=frozenset({"notes", "lat", "lon", "updated_at"}),
                  rules=MergedFamilyRecords(ComplianceVisit, CodeRules("code"))),
        TableSpec(VisitFinding, kind="append", scope="visit_id->compliance_visits",
                  mutable=frozenset({"result", "notes", "updated_at"})),
        TableSpec(Sanction, scope=by_family, rules=MergedFamilyRecords(Sanction)),
        # A grievance belongs to its family's community, an anonymous one to the community it
        # names. A confidential one (about staff), and its steps, travel up only: central
        # never sends them to a node (withhold), whose other users may include the staff
        # member it is about.
        TableSpec(Grievance, scope="family_id->families|community_id", withhold="confidential",
                  rules=MergedFamilyRecords(Grievance, GrievanceRules())),
        TableSpec(GrievanceStep, kind="append", scope="grievance_id->grievances",
                  withhold="confidential", mutable=frozenset({"updated_at"}),
                  rules=GrievanceStepRules()),
        # Photos and scans: the row travels with its family's records (the bytes apart, see
        # sync/media); only the caption may change, and a wrong one be voided (with why, by
        # whom and when).
        TableSpec(Attachment, kind="append", scope=by_family,
                  mutable=frozenset({"caption", "voided", "void_reason", "voided_by",
                                     "voided_at", "updated_at"}),
                  rules=MergedFamilyRecords(Attachment, AttachmentRules())),
        # Plots and their boundary history belong to the family's community. Alerts to verify
        # are made on central, assigned to the plot's community; nodes answer them.
        TableSpec(Plot, scope=by_family, rules=MergedFamilyRecords(Plot, PlotRules())),
        TableSpec(PlotBoundary, kind="append", scope="plot_id->plots",
                  mutable=frozenset({"updated_at"}), rules=PlotBoundaryRules()),
        TableSpec(AlertCheck, scope="community_id", rules=AlertCheckRules(),
                  origin_column=None),
        # An entry's node is the pushing node; its user is that node's local user (shown
        # with the node, never taken for one of central's accounts).
        TableSpec(AuditEntry, kind="append", scope=by_family, distribute=False,
                  origin_column="node_id"),
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
    from fieldapp.nodes import accounts
    from fieldapp.nodes.directory import Directory

    install_catalogue_ids()
    from fieldapp.media.queries import (
        confirm_on_central,
        named_hashes,
        node_may_move,
        wanted_on_central,
    )
    from fieldapp.media.storage import LocalStorage, media_folder
    from sync.state import MediaHooks

    folder = media_folder(app.config, app.instance_path)
    store = LocalStorage(folder)
    app.extensions["fieldapp.media"] = store
    media = MediaHooks(store=store, partial_folder=folder / ".partial",
                       node_hashes=named_hashes, allowed=node_may_move,
                       max_bytes=int(app.config["MEDIA_MAX_STORED_BYTES"]),
                       chunk_bytes=int(app.config["MEDIA_CHUNK_BYTES"]),
                       confirmed=confirm_on_central,
                       partial_max_age_s=float(app.config["MEDIA_PARTIAL_MAX_HOURS"]) * 3600,
                       wanted=wanted_on_central)
    try:  # what a transfer or a write killed long ago left behind
        media.sweep_partials()
        store.sweep(media.partial_max_age_s)
    except OSError as error:
        app.logger.warning("media: partial files not swept: %s", error)
    engine.init_app(
        app,
        session=db.session,
        metadata=Base.metadata,
        tables=table_specs(),
        schema_version=schema_version,
        app_version=fieldapp.__version__,
        directory=Directory() if app.config["ROLE"] == "central" else None,
        exchanges=[accounts.exchange()],
        media=media,
    )
    from fieldapp.auth.access import public

    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(("sync_api.", "sync_media.")):
            public(view)  # a node's credential, checked by the engine, not a person's login
    for name in ("sync_api", "sync_media"):
        if name in app.blueprints:
            csrf.exempt(app.blueprints[name])

    from fieldapp.nodes import cli

    cli.init_app(app)
    app.context_processor(sync_badge)


#: The badge counts a node's unsent changes up to this many, then says "1,000+".
BADGE_PENDING_CAP = 1000


def sync_badge() -> dict[str, Any]:
    """The status badge of the top bar: this node's sync (field) or open conflicts (central)."""
    from flask import current_app
    from flask_login import current_user

    if not current_user.is_authenticated:
        return {"sync_badge": None}
    if current_app.config["ROLE"] == "central":
        if not current_user.has_role("coordinator"):
            return {"sync_badge": None}
        from fieldapp.nodes.queries import open_conflict_count

        count = open_conflict_count()
        return {"sync_badge": {"state": "conflicts" if count else "ok", "conflicts": count}}
    import json

    from fieldapp.nodes.messages import plain_error
    from sync.node import local
    from sync.node.transport import load_credentials

    sync_state = current_app.extensions["sync"]
    if load_credentials(sync_state) is None:
        # Never enrolled (a demo, a standalone installation): there is no central to send to,
        # so no "1,000+ changes to send" — it says so calmly.
        return {"sync_badge": {"state": "standalone", "pending": 0, "pending_capped": False,
                               "last_success_at": None, "error": None}}
    # Not sync.node.runner.status(): that counts the whole outbox exactly (for the sync page and the
    # handshake); the badge is on every page, so it counts only up to BADGE_PENDING_CAP.
    counts = local.counts(sync_state, cap=BADGE_PENDING_CAP)
    notes = local.get_notes(sync_state, "last_error", "last_success")
    error_text = notes["last_error"][0]
    success_at = notes["last_success"][1]
    error = json.loads(error_text) if error_text else None
    if error:
        state = "error"
    elif counts["pending"]:
        state = "pending"
    elif success_at:
        state = "ok"
    else:
        state = "never"
    return {"sync_badge": {"state": state, "pending": counts["pending"],
                           "pending_capped": bool(counts["pending_capped"]),
                           "last_success_at": success_at, "error": plain_error(error)}}


def capture_bulk(model: Any, ids: list[Any]) -> int:
    """Capture rows written behind the session's back (a raw connection), see
    :func:`sync.capture.events.capture_rows`. Statements run through ``db.session`` (bulk inserts,
    updates, deletes) are captured on their own."""
    from fieldapp.extensions import db
    from sync.capture.events import capture_rows

    return capture_rows(db.session, model, ids)
