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


def test_an_offline_edit_of_a_family_merged_meanwhile_is_refused_with_its_reason(world):
    central, a = world["central"], world["a"]
    kept = a.add_family(world["c1"], dni="41234567")
    twice = a.add_family(world["c1"], head_given_names="Maria", head_surname="Sanchez Tuanama",
                         confirm_not_duplicate=True)
    a.sync()
    _merge(central, kept, twice)
    a.edit(Family, twice, phone="944555666")  # the node has not heard of the merge
    report = a.sync()
    assert [r["code"] for r in report.rejections] == ["merged_family"]
    assert central.get(Family, twice)["phone"] is None
    assert central.get(Family, kept)["phone"] is None
