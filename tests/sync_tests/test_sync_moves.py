"""A record leaving a node's scope reaches that node as a removal, never as data it may not see.

A family moved from community C001 to C002 (on central through the family form, or pushed by a
node serving both) takes its whole history with it: nodes serving only C001 lose the family and
every record below it and never receive its new values, nodes serving only C002 receive all of
it, nodes serving both get an update. New nodes enrolled after the move see the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update
from synckit import assert_converged, login

from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
    Signature,
)
from fieldapp.compliance.models import ComplianceVisit, Sanction, VisitFinding
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance, TrainingSession

#: The moved family's new DNI: a node of its old community must never hold it, even briefly.
NEW_DNI = "87654321"
HISTORY = (Agreement, AgreementCommitment, AgreementBenefit, Signature, Delivery,
           ComplianceVisit, VisitFinding, Sanction, Attendance)


def _world(central, make_node) -> dict:
    """Communities C001 and C002; the catalogues; nodes ``maker`` (C001: it registers the
    family), ``late`` (C001, not synced since before the family existed), ``both`` (C001 and
    C002) and ``new`` (C002), all enrolled and synced."""
    c1 = central.add_community("C001")
    c2 = central.add_community("C002")
    commitment = central.add(CommitmentType, code="no_clearing", text_es="No talar",
                             text_en="No clearing")
    benefit = central.add(BenefitType, code="cookstove", category="cookstove",
                          name_es="Cocina mejorada", name_en="Improved cookstove",
                          default_unit="unidades")
    nodes = {}
    for name, code, communities in (("maker", "MKR", ("C001",)), ("late", "LAT", ("C001",)),
                                    ("both", "BTH", ("C001", "C002")),
                                    ("new", "NEW", ("C002",))):
        node = make_node(code)
        node.enrol(central, communities=communities)
        node.sync()
        nodes[name] = node
    return {"central": central, "c1": c1, "c2": c2, "commitment": commitment,
            "benefit": benefit, **nodes}


def _family_with_history(world: dict) -> dict:
    """A family of C001 registered on ``maker`` with an agreement (commitment, benefit,
    signature), a delivery with its receipt signature, a visit with a finding, a sanction and
    attendance at a C001 training; pushed, and pulled by ``both``."""
    node = world["maker"]
    family = node.add_family(world["c1"], dni="11223344", lat=-5.9, lon=-77.3)
    agreement = node.add(Agreement, number="AM-2026-MKR-0001", family_id=family, year=2026,
                         period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                         status="draft")
    commitment = node.add(AgreementCommitment, agreement_id=agreement,
                          commitment_type_id=world["commitment"], text_es="No talar",
                          text_en="No clearing")
    node.add(AgreementBenefit, agreement_id=agreement, benefit_type_id=world["benefit"],
             quantity=Decimal("1"), unit="unidades")
    signed = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    node.add(Signature, agreement_id=agreement, signer_role="family", signer_name="María",
             signed_at=signed)
    delivery = node.add(Delivery, code="AM-D-MKR-000001", family_id=family,
                        agreement_id=agreement, benefit_type_id=world["benefit"],
                        item="Cocina mejorada", quantity=Decimal("1"), unit="unidades",
                        delivered_on=date(2026, 4, 2), delivered_by_name="Wilmer",
                        receipt_kind="signature")
    node.add(Signature, delivery_id=delivery, signer_role="family", signer_name="María",
             signed_at=signed)
    visit = node.add(ComplianceVisit, code="AM-V-MKR-000001", family_id=family,
                     agreement_id=agreement, visited_on=date(2026, 5, 1),
                     monitor_name="Wilmer", lat=-5.91, lon=-77.31)
    node.add(VisitFinding, visit_id=visit, agreement_commitment_id=commitment, result="met")
    node.add(Sanction, family_id=family, agreement_id=agreement, visit_id=visit,
             level="warning")
    session = node.add(TrainingSession, code="AM-T-MKR-0001", held_on=date(2026, 3, 1),
                       topic="Café", community_id=world["c1"], trainer_name="Rosa",
                       duration_hours=Decimal("2"))
    node.add(Attendance, session_id=session, family_id=family)
    node.sync()
    world["both"].sync()
    assert world["both"].count(Family, Family.id == family) == 1
    assert world["both"].count(Attendance) == 1
    return {"family": family, "agreement": agreement, "visit": visit}


def _move_on_central(world: dict, family) -> None:
    """A coordinator moves the family to C002 through the family form, with a new DNI."""
    central = world["central"]
    client = login(central.app, "coordinator")
    response = client.post(f"/families/{family}/edit", data={
        "community_id": str(world["c2"]), "head_given_names": "María",
        "head_surname": "Tuanama Sánchez", "dni": NEW_DNI, "members_count": "4",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert central.get(Family, family)["community_id"] == world["c2"]


def _never_held(node, needle: str) -> None:
    """The node's database files (and their write-ahead log) never held ``needle``."""
    folder = Path(node.app.instance_path)
    for path in folder.glob("fieldapp.sqlite*"):
        assert needle.encode() not in path.read_bytes(), f"{node.code}: {path.name}"


def _has_nothing_of(node, family) -> None:
    assert node.count(Family, Family.id == family) == 0
    for model in HISTORY:
        assert node.count(model) == 0, f"{node.code} keeps {model.__tablename__}"


def _everyone_converged(world: dict, *names: str) -> None:
    for name in names:
        assert_converged(world["central"], world[name])


def test_a_family_moved_on_central_reaches_its_old_nodes_as_a_removal(world_moves):
    world = world_moves
    ids = _family_with_history(world)
    family = ids["family"]
    _move_on_central(world, family)
    for name in ("maker", "late", "both", "new"):
        world[name].sync()

    # Nodes of C001 alone: no family, nothing of its history, never its new values.
    for name in ("maker", "late"):
        _has_nothing_of(world[name], family)
        _never_held(world[name], NEW_DNI)
    # The node of C002 alone has the family with its whole history (but the attendance of a
    # C001 training, which belongs to both communities); the node of both has it updated.
    new = world["new"]
    assert new.get(Family, family)["dni"] == NEW_DNI
    for model in HISTORY:
        assert new.count(model) == (0 if model is Attendance else 1 + (model is Signature))
    assert world["both"].get(Family, family)["community_id"] == world["c2"]
    assert world["both"].count(Attendance) == 1
    _everyone_converged(world, "maker", "late", "both", "new")

    # Later edits of the family and its records never reach the old community's nodes.
    world["central"].edit(Family, family, phone="999888777")
    world["central"].edit(ComplianceVisit, ids["visit"], notes="revisada")
    for name in ("maker", "late", "both", "new"):
        world[name].sync()
    _has_nothing_of(world["maker"], family)
    assert new.get(Family, family)["phone"] == "999888777"
    _everyone_converged(world, "maker", "late", "both", "new")
    _never_held(world["maker"], "999888777")


def test_nodes_enrolled_after_a_move_see_what_the_nodes_that_followed_it_see(world_moves,
                                                                             make_node):
    world = world_moves
    family = _family_with_history(world)["family"]
    _move_on_central(world, family)
    central = world["central"]
    # Pages of three rows: the family, its history and the removals come in many pages (and
    # pages asked ahead).
    old = make_node("OLD", SYNC_PULL_PAGE_ROWS=3)
    new = make_node("NW2", SYNC_PULL_PAGE_ROWS=3)
    old.enrol(central, communities=("C001",))
    new.enrol(central, communities=("C002",))
    old.sync()
    new.sync()
    _has_nothing_of(old, family)
    _never_held(old, NEW_DNI)
    assert new.get(Family, family)["dni"] == NEW_DNI
    assert new.count(Delivery) == 1
    for node in (old, new):
        assert_converged(central, node)


def test_a_move_pushed_by_a_node_serving_both_communities(world_moves):
    world = world_moves
    ids = _family_with_history(world)
    family = ids["family"]
    both = world["both"]
    both.edit(Family, family, community_id=world["c2"], dni=NEW_DNI)
    report = both.sync()
    assert not report.rejections
    assert world["central"].get(Family, family)["community_id"] == world["c2"]
    for name in ("maker", "late", "new"):
        world[name].sync()
    for name in ("maker", "late"):
        _has_nothing_of(world[name], family)
        _never_held(world[name], NEW_DNI)
    assert world["new"].get(Family, family)["dni"] == NEW_DNI
    assert world["new"].count(ComplianceVisit) == 1
    _everyone_converged(world, "maker", "late", "both", "new")

    # And back: the old community's nodes receive the family and its history again.
    both.edit(Family, family, community_id=world["c1"])
    both.sync()
    for name in ("maker", "late", "new"):
        world[name].sync()
    assert world["maker"].count(VisitFinding) == 1
    _has_nothing_of(world["new"], family)
    _everyone_converged(world, "maker", "late", "both", "new")


def test_a_removal_creates_no_operation_and_keeps_the_nodes_own_work(world_moves):
    world = world_moves
    ids = _family_with_history(world)
    family, maker = ids["family"], world["maker"]
    _move_on_central(world, family)
    # Meanwhile, offline, the promotor records a visit and edits the family.
    visit = maker.add(ComplianceVisit, code="AM-V-MKR-000002", family_id=family,
                      agreement_id=ids["agreement"], visited_on=date(2026, 6, 1),
                      monitor_name="Wilmer")
    maker.edit(Family, family, phone="911222333")
    before = maker.outbox()
    report = maker.sync()

    # Central refuses both (the family is no longer this node's) and keeps them with the
    # reason; the node removes the family and everything below it, its own visit too, without
    # writing any operation; its work stays in the outbox, refused, shown on /nodes/sync.
    assert sorted(r["code"] for r in report.rejections) == ["out_of_scope", "out_of_scope"]
    _has_nothing_of(maker, family)
    after = maker.outbox()
    assert [r["seq"] for r in after] == [r["seq"] for r in before]
    refused = {r["row_id"]: r for r in after if r["status"] == "quarantined"}
    assert set(refused) == {visit, family}
    assert all(r["error_code"] == "out_of_scope" for r in refused.values())
    assert "911222333" in refused[family]["payload"]
    assert world["central"].count(ComplianceVisit, ComplianceVisit.id == visit) == 0
    page = login(maker.app, "field_staff").get("/nodes/sync").get_data(as_text=True)
    assert page.count("Pertenece a una comunidad que este nodo no atiende.") == 2
    assert_converged(world["central"], maker)


@pytest.fixture
def world_moves(central, make_node) -> dict:
    return _world(central, make_node)


def test_a_bulk_statement_on_central_moves_families_as_the_form_does(world_moves):
    world = world_moves
    family = _family_with_history(world)["family"]
    central = world["central"]
    with central.app.test_request_context():
        db.session.execute(update(Family).where(Family.community_id == world["c1"])
                           .values(community_id=world["c2"], dni=NEW_DNI))
        db.session.commit()
    for name in ("maker", "late", "both", "new"):
        world[name].sync()
    for name in ("maker", "late"):
        _has_nothing_of(world[name], family)
        _never_held(world[name], NEW_DNI)
    assert world["new"].count(Sanction) == 1
    _everyone_converged(world, "maker", "late", "both", "new")
