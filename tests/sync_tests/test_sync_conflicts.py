"""Conflicts by kind of data: families merge per field, signed agreements stay immutable and
competing amendments are both kept, attendance is a set, deliveries are append-only events."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from synckit import assert_converged

from fieldapp.agreements.content import content_hash
from fieldapp.agreements.models import Agreement
from fieldapp.deliveries.models import Delivery
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession


def conflicts(central, **where):
    rows = central.rows(central.state.tables.conflicts).values()
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def test_families_merge_different_fields_and_keep_both_values_of_the_same_field(world):
    central, a, b = world["central"], world["a"], world["b"]
    family = a.add_family(world["c1"], phone="900000001", notes="inicio")
    a.sync()
    b.sync()
    assert b.get(Family, family)["phone"] == "900000001"

    # Different fields on two nodes: merged.
    a.edit(Family, family, phone="911111111")
    b.edit(Family, family, notes="visitada en marzo")
    a.sync()
    b.sync()
    a.sync()
    merged = central.get(Family, family)
    assert (merged["phone"], merged["notes"]) == ("911111111", "visitada en marzo")
    assert not conflicts(central)
    for node in (a, b):
        assert_converged(central, node)

    # The same field on two nodes: central keeps the first, a conflict keeps both values.
    a.edit(Family, family, members_count=6)
    b.edit(Family, family, members_count=7)
    a.sync()
    report = b.sync()
    assert report.conflicts == 1
    assert central.get(Family, family)["members_count"] == 6
    [conflict] = conflicts(central, status="open")
    assert (conflict["kind"], conflict["field"]) == ("field", "members_count")
    assert (conflict["central_value"], conflict["node_value"], conflict["base_value"]) == (6, 7, 4)
    a.sync()
    for node in (a, b):
        assert_converged(central, node)  # B's 7 is kept in the conflict, not overwritten
    assert b.get(Family, family)["members_count"] == 6


def _signed_agreement(node, family_id, number, supersedes=None, kind="original"):
    """A signed agreement written the way the signing screen freezes it (content + hash)."""
    content = {"format": 1, "number": number, "kind": kind, "family": str(family_id),
               "supersedes_id": str(supersedes) if supersedes else None,
               "commitments": [{"code": "no_clearing", "text_es": "No talar ni quemar"}],
               "period": {"start": "2026-01-01", "end": "2026-12-31"}}
    return node.add(
        Agreement, number=number, family_id=family_id, year=2026,
        period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), status="signed",
        kind=kind, version_no=2 if supersedes else 1, supersedes_id=supersedes,
        signed_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC), signed_place="Aguas Verdes",
        signed_content=content, content_hash=content_hash(content),
    )


def test_two_amendments_of_one_signed_agreement_are_both_kept_and_flagged(world):
    central, a, b = world["central"], world["a"], world["b"]
    family = a.add_family(world["c1"])
    base = _signed_agreement(a, family, "AM-2026-AAA-0001")
    a.sync()
    b.sync()
    first = _signed_agreement(a, family, "AM-2026-AAA-0002", supersedes=base, kind="amendment")
    second = _signed_agreement(b, family, "AM-2026-BBB-0001", supersedes=base, kind="amendment")
    a.sync()
    report = b.sync()
    a.sync()
    assert report.rejected == 0
    assert report.conflicts >= 1
    for amendment in (first, second):
        row = central.get(Agreement, amendment)
        assert row is not None
        assert row["conflict_flag"] == "competing_version"
        assert row["content_hash"] == content_hash(row["signed_content"])
        assert row["content_hash"] == hashlib.sha256(json.dumps(
            row["signed_content"], sort_keys=True, separators=(",", ":"),
            ensure_ascii=False).encode()).hexdigest()
    [conflict] = conflicts(central, kind="amendment", status="open")
    assert {conflict["row_id"], conflict["other_row_id"]} == {first, second}
    for node in (a, b):
        assert_converged(central, node)
        assert node.get(Agreement, first)["conflict_flag"] == "competing_version"

    # A signed version is never edited: the node itself refuses the edit...
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from fieldapp.agreements.rules import AgreementFrozen, _guard_signed_versions

    with pytest.raises(AgreementFrozen):
        b.edit(Agreement, base, period_end=date(2027, 6, 30))
    # ...and should a node without that guard (an old version) send one, central refuses it and
    # the node keeps it, quarantined.
    event.remove(Session, "before_flush", _guard_signed_versions)
    try:
        b.edit(Agreement, base, period_end=date(2027, 6, 30))
    finally:
        event.listen(Session, "before_flush", _guard_signed_versions)
    report = b.sync()
    assert [r["code"] for r in report.rejections] == ["signed_immutable"]
    assert central.get(Agreement, base)["period_end"] == date(2026, 12, 31)
    assert b.status()["quarantined"] == 1


def test_attendance_is_a_set(world):
    central, a, b = world["central"], world["a"], world["b"]
    family = a.add_family(world["c1"])
    session = a.add(TrainingSession, code="AM-T-AAA-0001", held_on=date(2026, 3, 3),
                    topic="Poda de café", community_id=world["c1"], trainer_name="Wilmer",
                    duration_hours=Decimal("3.0"))
    a.sync()
    b.sync()
    mine = a.add(Attendance, session_id=session, family_id=family)
    theirs = b.add(Attendance, session_id=session, family_id=family, attendee_name="Rosa")
    a.sync()
    b.sync()
    a.sync()
    on_central = central.rows(Attendance)
    assert list(on_central) == [mine]  # one element, whoever recorded it
    assert on_central[mine]["attendee_name"] == "Rosa"  # what only one side knew is kept
    for node in (a, b):
        assert list(node.rows(Attendance)) == [mine]
        assert_converged(central, node)
    assert theirs not in central.rows(Attendance)


def test_a_delivery_recorded_twice_is_kept_twice_and_flagged(world):
    central, a, b = world["central"], world["a"], world["b"]
    family = a.add_family(world["c1"])
    base = _signed_agreement(a, family, "AM-2026-AAA-0009")
    a.sync()
    b.sync()
    from fieldapp.agreements.models import BenefitType

    benefit = central.add(BenefitType, code="cookstove", category="cookstove",
                          name_es="Cocina mejorada", name_en="Improved cookstove",
                          default_unit="unidades")
    a.sync()
    b.sync()
    common = dict(family_id=family, agreement_id=base, benefit_type_id=benefit,
                  item="Cocina mejorada", quantity=Decimal("1"), unit="unidades",
                  delivered_by_name="Wilmer", receipt_kind="signature")
    first = a.add(Delivery, code="AM-D-AAA-000001", delivered_on=date(2026, 4, 2), **common)
    second = b.add(Delivery, code="AM-D-BBB-000001", delivered_on=date(2026, 4, 3), **common)
    a.sync()
    b.sync()
    a.sync()
    assert central.get(Delivery, first)["suspected_duplicate_of_id"] is None
    assert central.get(Delivery, second)["suspected_duplicate_of_id"] == first
    [conflict] = conflicts(central, kind="double_delivery")
    assert (conflict["row_id"], conflict["other_row_id"]) == (second, first)
    for node in (a, b):
        assert node.get(Delivery, second)["suspected_duplicate_of_id"] == first
        assert_converged(central, node)

    # Deliveries are append-only: an edit of history is refused, the record is kept.
    a.edit(Delivery, first, quantity=Decimal("2"))
    report = a.sync()
    assert [r["code"] for r in report.rejections] == ["append_only"]
    assert central.get(Delivery, first)["quantity"] == Decimal("1")


def test_double_delivery_lookups_find_what_the_rule_says(central):
    """The look-up for suspected doubles, on both databases, against the rule computed here.

    On PostgreSQL it must also start from the new deliveries: a new central has no table
    statistics while it takes its first pushes, and a plain join let PostgreSQL start from the
    whole deliveries table and, for each delivery there, search the page's new ones: every page
    cost more than the one before (34 s a page, 20 pages into a scale-1 push)."""
    from sqlalchemy import insert, select, text

    from fieldapp.agreements.models import BenefitType
    from fieldapp.extensions import db
    from fieldapp.nodes.syncing import find_double_deliveries

    community = central.add_community("C1")
    families = [central.add_family(community, dni=f"4100{n:04d}") for n in range(30)]
    agreement = _signed_agreement(central, families[0], "AM-2026-CEN-0001")
    benefit = central.add(BenefitType, code="seedlings", category="seedlings",
                          name_es="Plantones", name_en="Seedlings", default_unit="plantones")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with central.app.app_context():
        # 6,000 deliveries behind the ORM's back, as a push's bulk insert writes them, with no
        # ANALYZE after them (autovacuum may not have run yet on a new central).
        db.session.execute(insert(Delivery.__table__), [
            {"id": uuid.uuid4(), "code": f"AM-D-{n:05d}", "family_id": families[n % 30],
             "agreement_id": agreement, "benefit_type_id": benefit, "item": "Plantones",
             "quantity": Decimal(1 + n % 5), "unit": "plantones",
             "delivered_on": date(2026, 1, 1) + timedelta(days=n % 301),
             "delivered_by_name": "Wilmer", "receipt_kind": "none",
             "over_promise_confirmed": False, "created_at": now, "updated_at": now,
             "origin_node": "CEN", "version": 1, "voided": False}
            for n in range(1, 6001)])
        db.session.commit()
        rows = [{"id": i, "reverses_id": None, "voided": False} for i in db.session.execute(
            select(Delivery.id).order_by(Delivery.code).limit(500)).scalars()]
        plans = []
        execute = db.session.execute

        def explained(statement, *args, **kwargs):
            sql = str(statement.compile(dialect=db.engine.dialect,
                                        compile_kwargs={"literal_binds": True}))
            plans.append("\n".join(execute(text("EXPLAIN " + sql)).scalars()))
            return execute(statement, *args, **kwargs)

        if central.backend == "postgres":
            db.session.execute = explained
        try:
            doubles = find_double_deliveries(db.session, rows)
        finally:
            if central.backend == "postgres":
                del db.session.execute
        every = db.session.execute(
            select(Delivery.id, Delivery.family_id, Delivery.quantity, Delivery.delivered_on)
        ).all()
        db.session.rollback()
    if central.backend == "postgres":
        [plan] = plans
        assert "Seq Scan on benefit_deliveries old" not in plan, plan
        assert "on benefit_deliveries old" in plan, plan  # an index scan per new delivery
    # The same answer as the rule says: deliveries n and n + 300 are alike (same family and
    # quantity, a day apart), n and n + 600 are not (two days apart).
    alike: dict[tuple, list] = {}
    for row_id, family_id, quantity, day in every:
        alike.setdefault((family_id, quantity), []).append((row_id, day))
    of = {row_id: (family_id, quantity, day) for row_id, family_id, quantity, day in every}
    fresh = {r["id"] for r in rows}
    expected = {}
    for r in rows:
        family_id, quantity, day = of[r["id"]]
        earlier = sorted(o for o, d in alike[(family_id, quantity)]
                         if o != r["id"] and abs((d - day).days) <= 1
                         and not (o in fresh and o > r["id"]))
        if earlier:
            expected[r["id"]] = earlier[0]  # the same created_at: the smallest id first
    assert dict(doubles) == expected
    assert len(expected) > 100
