"""Enrolment and a first round trip between a field node and central."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from synckit import assert_converged

from fieldapp.compliance.models import ComplianceVisit, VisitFinding
from fieldapp.extensions import db
from fieldapp.families.models import Family
from sync.registry import MISSING


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_demo_node_pushes_everything_and_a_new_node_pulls_it(central, make_node):
    a = make_node("TST", demo=True)  # the node that made the demo's records
    a.enrol(central, all_communities=True)
    report = a.sync()
    assert report.ok
    assert report.rejected == 0
    assert count(central.app, Family) == count(a.app, Family) > 50
    assert a.status()["pending"] == 0
    assert_converged(central, a)  # on PostgreSQL, rows inserted in bulk with COPY

    b = make_node("BBB")
    b.enrol(central, all_communities=True)
    report = b.sync()
    assert report.ok
    assert report.pulled > 1000
    assert count(b.app, Family) == count(a.app, Family)
    assert_converged(central, b)
    if central.backend == "postgres":
        _postgres_reads_match_the_codec(central)

    again = a.sync()
    assert again.requests <= 2


def _postgres_reads_match_the_codec(central) -> None:
    """The pull's PostgreSQL reader gives every value of every table exactly as the codec
    encodes the rows SQLAlchemy reads (the reference)."""
    from sync.central.feed import _encode_rows, postgres_rows
    from sync.storage.codec import wire_kind

    kinds = set()
    with central.app.app_context():
        for spec in central.state.registry.specs.values():
            rows = db.session.execute(select(spec.table)).all()
            if not rows:
                continue
            at = spec.codec.columns.index("id")
            expected = sorted(_encode_rows(spec, rows), key=lambda values: values[at])
            got = sorted(postgres_rows(db.session, spec, [r.id for r in rows]),
                         key=lambda values: values[at])
            assert got == expected, spec.name
            kinds.update(wire_kind(c.type) for c in spec.table.columns
                         if any(getattr(r, c.key) is not None for r in rows))
        db.session.rollback()
    assert kinds >= {"uuid", "datetime", "date", "decimal", "bytes", "bool", "int", "json",
                     "str"}, kinds


def test_bulk_statements_through_the_session_are_captured_too(world):
    """Code that writes with update()/delete() statements (no unit of work) still syncs."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import delete, update
    from synckit import assert_converged

    from fieldapp.trainings.models import Attendance, TrainingSession

    central, a, b = world["central"], world["a"], world["b"]
    families = a.add_families(world["c1"], [{"head_given_names": f"F{i}"} for i in range(4)])
    session_id = a.add(TrainingSession, code="AM-T-AAA-0001", held_on=date(2026, 2, 2),
                       topic="Viveros", community_id=world["c1"], trainer_name="Nilda",
                       duration_hours=Decimal("2.0"))
    for family in families:
        a.add(Attendance, session_id=session_id, family_id=family)
    a.sync()
    b.sync()
    with a.app.app_context():
        db.session.execute(update(Family).where(Family.id.in_(families[:2]))
                           .values(notes="revisado en bloque"))
        db.session.execute(delete(Attendance).where(Attendance.family_id == families[3]))
        db.session.commit()
    assert a.get(Family, families[0])["version"] == 2
    a.sync()
    b.sync()
    assert central.get(Family, families[1])["notes"] == "revisado en bloque"
    assert central.count(Attendance) == 3
    for node in (a, b):
        assert_converged(central, node)


def test_the_outbox_holds_what_the_database_holds_for_unit_of_work_and_core_writes(make_node):
    """Rows written through the unit of work and rows written with Core statements (an
    attendance sheet and its audit entries) are captured with the values the database holds."""
    import json
    from datetime import date, timedelta
    from decimal import Decimal

    from sqlalchemy import insert
    from uuid6 import uuid7

    from fieldapp.communities.models import Community
    from fieldapp.trainings.models import TrainingSession
    from fieldapp.trainings.operations import save_attendance

    a = make_node("AAA")
    community = a.add(Community, code="C9", name="Nuevo Horizonte", lat=-5.75)
    families = a.add_families(community, [{"head_given_names": f"F{i}"} for i in range(3)])
    session_id = a.add(TrainingSession, code="AM-T-AAA-0009", held_on=date.today()
                       - timedelta(days=1), topic="Viveros", community_id=community,
                       trainer_name="Nilda", duration_hours=Decimal("2.5"))
    with a.app.test_request_context():
        session = db.session.get(TrainingSession, session_id)
        save_attendance(session, {families[0]: "Rosa", families[1]: None, families[2]: "Ana"},
                        set())
        db.session.commit()
        # Some columns left to their defaults: the rows are read back to learn them.
        db.session.execute(insert(Community), [{"id": uuid7(), "code": "C8", "name": "Otra"}])
        db.session.commit()

    outbox = a.outbox()
    assert [op["seq"] for op in outbox] == list(range(1, len(outbox) + 1))
    tables = {op["table_name"] for op in outbox}
    assert {"communities", "families", "training_sessions", "attendance", "audit_log"} <= tables
    registry = a.state.registry
    for entry in outbox:
        op = json.loads(entry["payload"])
        assert op["o"] == "i"
        assert op["i"] == str(entry["row_id"])
        spec = registry.get(op["t"])
        row = a.get(spec.table, entry["row_id"])
        assert spec.codec.decode_row(op["d"]) == {c: row[c] for c in spec.codec.data_columns}, (
            op["t"])
        if spec.versioned:
            assert op["v"] == row["version"]
    assert sum(e["table_name"] == "communities" for e in outbox) == 2
    sheet = [json.loads(e["payload"]) for e in outbox if e["table_name"] == "attendance"]
    assert sorted(op["d"]["attendee_name"] or "" for op in sheet) == ["", "Ana", "Rosa"]


def test_the_garbage_collector_pauses_for_a_page_and_comes_back_after_the_last():
    import gc

    from sync.gcpause import paused as gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # another thread's page in the same worker
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first page is still running
    assert gc.isenabled()
    gc.disable()  # turned off by someone else: left off
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_rows_are_placed_in_their_parents_communities_cached_or_not(make_node):
    """``communities_of_rows``: a parent looked up once, found again in the cache, a parent
    two levels up (a finding's visit's family), an unknown parent, a row with no parent."""
    node = make_node("PLC", demo=True)
    with node.app.app_context():
        registry = node.app.extensions["sync"].registry
        session = db.session
        family = session.scalars(select(Family).limit(1)).one()
        finding = session.scalars(select(VisitFinding).limit(1)).one()
        visit = session.get(ComplianceVisit, finding.visit_id)
        visit_family = session.get(Family, visit.family_id)
        unknown = uuid.uuid4()
        rows = [{"family_id": family.id}, {"family_id": unknown}, {"family_id": None},
                {"family_id": family.id}]
        cache: dict = {}
        expected = [(family.community_id, None), (MISSING, None), (None, None),
                    (family.community_id, None)]
        assert registry.communities_of_rows(session, "agreements", rows, cache) == expected
        assert cache[("families", family.id)] == family.community_id
        assert ("families", unknown) not in cache  # may be inserted later in the page
        # Found in the cache this time, unknown still missing (and looked up again).
        assert registry.communities_of_rows(session, "agreements", rows, cache) == expected
        assert registry.communities_of_rows(
            session, "visit_findings", [{"visit_id": finding.visit_id}], cache,
        ) == [(visit_family.community_id, None)]
        assert cache[("compliance_visits", visit.id)] == visit_family.community_id
        assert registry.communities_of_rows(session, "families", [{"community_id": None}]) == [
            (None, None)]
        session.rollback()
