"""A family registered on two nodes, merged on central: the merge reaches every node, and a
record a node made offline for the merged family lands on the family it was merged into."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from synckit import assert_converged, push, signed_agreement

from fieldapp.agreements.models import Agreement, BenefitType
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family


def _merge(central, survivor, merged):
    from fieldapp.merges.operations import merge_families

    with central.app.test_request_context():
        merge_families(db.session.get(Family, survivor), db.session.get(Family, merged), {},
                       None)
        db.session.commit()


def test_a_delivery_recorded_offline_for_a_merged_family_lands_on_the_survivor(world):
    central, a, b = world["central"], world["a"], world["b"]
    kept = a.add_family(world["c1"], dni="41234567")
    twice = b.add_family(world["c1"], head_given_names="Maria", head_surname="Sanchez Tuanama",
                         confirm_not_duplicate=True)
    agreement = signed_agreement(b, twice, "AM-2026-BBB-0001")
    benefit = central.add(BenefitType, code="cookstove", category="cookstove",
                          name_es="Cocina mejorada", name_en="Improved cookstove",
                          default_unit="unidades")
    for node in (a, b, a, b):
        assert node.sync().rejected == 0
    _merge(central, kept, twice)
    # Node B has not heard of the merge: it records a delivery for the family it knows.
    delivery = b.add(Delivery, code="AM-D-BBB-000001", delivered_on=date(2026, 4, 2),
                     family_id=twice, agreement_id=agreement, benefit_type_id=benefit,
                     item="Cocina mejorada", quantity=Decimal("1"), unit="unidades",
                     delivered_by_name="Wilmer", receipt_kind="signature")
    for node in (b, a, b, a):
        assert node.sync().rejected == 0
    assert central.get(Delivery, delivery)["family_id"] == kept
    assert central.get(Agreement, agreement)["family_id"] == kept
    for node in (a, b):
        assert node.get(Delivery, delivery)["family_id"] == kept
        assert node.get(Agreement, agreement)["family_id"] == kept
        tomb = node.get(Family, twice)
        assert tomb["voided"]
        assert tomb["merged_into_id"] == kept
        assert_converged(central, node)


def test_a_node_cannot_merge_families(world):
    central, a = world["central"], world["a"]
    family = a.add_family(world["c1"])
    other = a.add_family(world["c1"], head_given_names="Juan", head_surname="Rojas")
    a.sync()
    version = central.get(Family, family)["version"]
    codes = push(a, {"o": "u", "t": "families", "i": str(family), "bv": version,
                     "v": version + 1, "d": {"merged_into_id": str(other), "voided": True},
                     "p": {"merged_into_id": None, "voided": False}})
    assert codes == ["central_merge"]
    assert central.get(Family, family)["merged_into_id"] is None


def test_one_dni_registered_on_two_nodes_is_flagged_then_merged_from_the_review(world):
    from synckit import login

    central, a, b = world["central"], world["a"], world["b"]
    first = a.add_family(world["c1"], dni="47654321")
    second = b.add_family(world["c1"], dni="47654321", head_surname="Tuanama Sanches")
    for node in (a, b, a):
        node.sync()
    conflicts = central.rows(central.state.tables.conflicts).values()
    [flag] = [c for c in conflicts if c["kind"] == "duplicate_dni"]
    assert flag["status"] == "open"
    coordinator = login(central.app, "coordinator")
    screen = coordinator.get(f"/nodes/conflicts/{flag['id']}").get_data(as_text=True)
    assert "/families/duplicates/" in screen  # the conflict leads to the side-by-side review
    listing = coordinator.get("/families/duplicates").get_data(as_text=True)
    assert str(first) in listing
    assert str(second) in listing
    merged = coordinator.post(f"/families/duplicates/{first}/{second}",
                              data={"action": "into_a", "field_head_surname": "b"})
    assert merged.status_code == 302
    [flag] = [c for c in central.rows(central.state.tables.conflicts).values()
              if c["kind"] == "duplicate_dni"]
    assert (flag["status"], flag["resolution"]) == ("resolved", "same")
    for node in (a, b, a, b):
        assert node.sync().rejected == 0
    for node in (a, b):
        assert node.get(Family, first)["head_surname"] == "Tuanama Sanches"
        assert node.get(Family, second)["merged_into_id"] == first
        assert_converged(central, node)


def _merged_pair(world):
    """Node A's family registered twice (both on central and both nodes), then merged on
    central: (central, node A, survivor, tombstone)."""
    central, a = world["central"], world["a"]
    kept = a.add_family(world["c1"], dni="41234567")
    twice = a.add_family(world["c1"], head_given_names="Maria", head_surname="Sanchez Tuanama",
                         confirm_not_duplicate=True)
    for node in (a, world["b"]):
        assert node.sync().rejected == 0
    _merge(central, kept, twice)
    return central, a, kept, twice


def test_an_offline_edit_of_a_family_merged_meanwhile_lands_on_the_survivor(world):
    central, a, kept, twice = _merged_pair(world)
    a.edit(Family, twice, phone="944555666")  # the node has not heard of the merge
    report = a.sync()
    assert report.rejected == 0
    assert central.get(Family, kept)["phone"] == "944555666"
    tomb = central.get(Family, twice)
    assert (tomb["phone"], tomb["merged_into_id"]) == (None, kept)
    assert not central.rows(central.state.tables.conflicts)
    for node in (world["b"], a, world["b"]):
        assert node.sync().rejected == 0
    for node in (a, world["b"]):
        assert node.get(Family, kept)["phone"] == "944555666"
        assert node.get(Family, twice)["phone"] is None  # the tombstone as central holds it
        assert node.get(Family, twice)["merged_into_id"] == kept
        assert_converged(central, node)


def test_an_offline_edit_of_a_field_the_survivor_holds_otherwise_is_a_conflict(world):
    central, a, kept, twice = _merged_pair(world)
    central_phone = "955111222"
    with central.app.test_request_context():  # the coordinator corrected the survivor
        db.session.get(Family, kept).phone = central_phone
        db.session.commit()
    a.edit(Family, twice, phone="944555666", members_count=6)
    assert a.sync().rejected == 0
    survivor = central.get(Family, kept)
    assert survivor["phone"] == central_phone  # kept until a coordinator decides
    assert survivor["members_count"] == 6  # the other field merges
    [conflict] = central.rows(central.state.tables.conflicts).values()
    assert (conflict["kind"], conflict["row_id"], conflict["field"]) == ("field", kept, "phone")
    assert central_phone in conflict["central_value"]
    assert "944555666" in conflict["node_value"]
    for node in (a, world["b"], a):
        assert node.sync().rejected == 0
    assert a.get(Family, kept)["phone"] == central_phone
    assert_converged(central, a)


def test_a_record_repointed_offline_at_a_merged_family_moves_to_the_survivor(world):
    central, a, kept, twice = _merged_pair(world)
    b = world["b"]
    other = central.get(Family, kept)["community_id"]
    third = b.add_family(other, head_given_names="Juan", head_surname="Rojas Pérez")
    draft = b.add(Agreement, number="AM-2026-BBB-0001", family_id=third, year=2026,
                  period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), status="draft",
                  kind="original", version_no=1)
    assert b.sync().rejected == 0  # the merge reaches B too; its draft reaches central
    # Node B has the merge now, but a tablet's outbox may still hold the change from before.
    ops = push(b, {"o": "u", "t": "agreements", "i": str(draft),
                   "bv": central.get(Agreement, draft)["version"],
                   "v": central.get(Agreement, draft)["version"] + 1,
                   "d": {"family_id": str(twice)}, "p": {"family_id": str(third)}})
    assert ops == [""]
    assert central.get(Agreement, draft)["family_id"] == kept
    for node in (a, b, a, b):
        assert node.sync().rejected == 0
    for node in (a, b):
        assert node.get(Agreement, draft)["family_id"] == kept
        assert_converged(central, node)


def test_an_undone_merge_reaches_every_node(world):
    from fieldapp.merges.operations import undo_merge

    central, a, b = world["central"], world["a"], world["b"]
    kept = a.add_family(world["c1"], dni="41234567")
    twice = b.add_family(world["c1"], head_given_names="Maria", head_surname="Sanchez Tuanama",
                         confirm_not_duplicate=True)
    agreement = signed_agreement(b, twice, "AM-2026-BBB-0001")
    for node in (a, b, a, b):
        assert node.sync().rejected == 0
    _merge(central, kept, twice)
    for node in (a, b):
        assert node.sync().rejected == 0
        assert node.get(Agreement, agreement)["family_id"] == kept
    with central.app.test_request_context():
        undo_merge(db.session.get(Family, twice), None)
        db.session.commit()
    for node in (a, b, a, b):
        assert node.sync().rejected == 0
    for node in (a, b):
        assert node.get(Agreement, agreement)["family_id"] == twice
        family = node.get(Family, twice)
        assert (family["voided"], family["merged_into_id"]) == (False, None)
        assert_converged(central, node)


def _all_on_survivors(node, survivors, moved, attendance):
    """The tombstones lead to their survivors and nothing points at a tombstone."""
    from fieldapp.trainings.models import Attendance

    for kept, merged in survivors.items():
        tomb = node.get(Family, merged)
        assert (tomb["voided"], tomb["merged_into_id"]) == (True, kept)
    for agreement, delivery in moved:
        assert node.get(Agreement, agreement)["family_id"] in survivors
        assert node.get(Delivery, delivery)["family_id"] in survivors
    for row in attendance:
        assert node.get(Attendance, row)["family_id"] in survivors


def test_three_nodes_one_family_registered_twice_merged_and_every_record_kept(world,
                                                                              make_node):
    """Issue 24's walk: the same family registered on two offline nodes (once with the same
    DNI, once without DNI under a respelt name), deliveries and attendance recorded for it on
    both; the coordinator merges both pairs on central; a third node records a visit for a
    merged family before it hears of the merge. After every node syncs twice, all hold the same
    data for their scope, the survivors have every record, and the dashboard counts each family
    once."""
    from datetime import UTC, datetime

    from synckit import login

    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.trainings.models import Attendance, TrainingSession

    central, a, b = world["central"], world["a"], world["b"]
    c = make_node("CCC")
    c.enrol(central, communities=("C1",))
    assert c.sync().rejected == 0
    benefit = central.add(BenefitType, code="cookstove", category="cookstove",
                          name_es="Cocina mejorada", name_en="Improved cookstove",
                          default_unit="unidades")
    # Registered on A and on B, each offline: the same DNI; and no DNI, the name respelt.
    dni_a = a.add_family(world["c1"], dni="45678912", head_given_names="Elmer",
                         head_surname="Sangama Ríos")
    dni_b = b.add_family(world["c1"], dni="45678912", head_given_names="Elmer",
                         head_surname="Sangama Rios")
    name_a = a.add_family(world["c1"], head_given_names="Rosa", head_surname="Tuanama Sangama")
    name_b = b.add_family(world["c1"], head_given_names="Roza", head_surname="Sangama Tuanama",
                          confirm_not_duplicate=True)

    def fieldwork(node, code, family, n):
        agreement = signed_agreement(node, family, f"AM-2026-{code}-000{n}")
        delivery = node.add(Delivery, code=f"AM-D-{code}-00000{n}", delivered_on=date(2026, 4, n),
                            family_id=family, agreement_id=agreement, benefit_type_id=benefit,
                            item="Cocina mejorada", quantity=Decimal("1"), unit="unidades",
                            delivered_by_name="Wilmer", receipt_kind="signature")
        return agreement, delivery

    for node in (a, b):  # the benefit type reaches both before they record deliveries
        assert node.sync().rejected == 0
    records = {
        "a": [fieldwork(a, "AAA", dni_a, 1), fieldwork(a, "AAA", name_a, 2)],
        "b": [fieldwork(b, "BBB", dni_b, 1), fieldwork(b, "BBB", name_b, 2)],
    }
    attendance = []
    for node, code, families in ((a, "AAA", (dni_a, name_a)), (b, "BBB", (dni_b, name_b))):
        session = node.add(TrainingSession, code=f"AM-T-{code}-0001", held_on=date(2026, 2, 2),
                           topic="Viveros", community_id=world["c1"], trainer_name="Nilda",
                           duration_hours=Decimal("2.0"))
        attendance += [node.add(Attendance, session_id=session, family_id=f) for f in families]
    for node in (a, b, c, a, b, c):
        assert node.sync().rejected == 0

    coordinator = login(central.app, "coordinator")
    review = coordinator.get("/families/duplicates").get_data(as_text=True)
    for family in (dni_a, dni_b, name_a, name_b):
        assert str(family) in review  # both pairs proposed
    for kept, merged in ((dni_a, dni_b), (name_a, name_b)):
        answer = coordinator.post(f"/families/duplicates/{kept}/{merged}",
                                  data={"action": "into_a"})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:300]

    # Node C has not heard of the merges: it visits the family it knows as B's registration.
    b_agreement = records["b"][0][0]
    visit = c.add(ComplianceVisit, code="AM-V-CCC-000001", family_id=dni_b,
                  agreement_id=b_agreement, visited_on=date(2026, 5, 1), monitor_name="Nilda")
    for _ in range(2):
        for node in (a, b, c):
            assert node.sync().rejected == 0

    survivors = {dni_a: dni_b, name_a: name_b}
    moved = [r for pairs in records.values() for r in pairs]
    for node in (a, b, c):
        assert_converged(central, node)
        _all_on_survivors(node, survivors, moved, attendance)
        assert node.get(ComplianceVisit, visit)["family_id"] == dni_a
    # The survivors hold every record of both registrations.
    with central.app.app_context():
        from sqlalchemy import func, select

        for kept in survivors:
            assert db.session.scalar(select(func.count()).select_from(Delivery)
                                     .where(Delivery.family_id == kept)) == 2
            assert db.session.scalar(select(func.count()).select_from(Agreement)
                                     .where(Agreement.family_id == kept)) == 2
    # Counted once on the dashboard: four registrations, two families.
    summary = coordinator.get("/dashboard/summary.json",
                              query_string={"today": datetime.now(UTC).date().isoformat()})
    assert summary.status_code == 200, summary.get_data(as_text=True)[:300]
    figures = summary.get_json()
    assert figures["families"]["registered"] == 2, figures["families"]
