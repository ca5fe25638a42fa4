"""Central never trusts a node: every pushed operation passes the app's rules (agreements' status
machine and signed versions, origins and codes of new records, central's catalogues), or it is
quarantined with a stable code; a DNI registered on two nodes keeps both families, flagged."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from synckit import last_insert, login, push, signed_agreement

from fieldapp.agreements.content import content_hash
from fieldapp.agreements.models import Agreement, CommitmentType
from fieldapp.agreements.transitions import change_status
from fieldapp.audit.models import AuditEntry
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.nodes.syncing import catalogue_id


def update(row_id: Any, d: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    return {"t": "agreements", "i": str(row_id), "o": "u", "d": d, "p": p}


def test_an_unsigning_push_is_refused_and_the_printed_copy_still_verifies(signed):
    central, a, agreement = signed["central"], signed["a"], signed["agreement"]
    before = central.get(Agreement, agreement)
    assert push(a, update(agreement, {"status": "draft"}, {"status": "active"})) == [
        "illegal_transition"]
    after = central.get(Agreement, agreement)
    assert after["status"] == "active"
    assert after["content_hash"] == before["content_hash"] == content_hash(after["signed_content"])
    response = central.app.test_client().get(f"/verify/{agreement}/{after['content_hash']}")
    assert response.status_code == 200


def test_voiding_or_deleting_a_signed_agreement_is_refused(signed):
    central, a, agreement = signed["central"], signed["a"], signed["agreement"]
    codes = push(a, update(agreement, {"voided": True}, {"voided": False}),
                 {"t": "agreements", "i": str(agreement), "o": "d"})
    assert codes == ["signed_immutable", "signed_immutable"]
    row = central.get(Agreement, agreement)
    assert row is not None
    assert row["voided"] is False


@pytest.mark.parametrize(("to", "base"), [("signed", "active"), ("superseded", "active"),
                                          ("draft", "active"), ("signed", "draft")])
def test_a_status_change_off_the_transition_table_is_refused(signed, to, base):
    central, a, agreement = signed["central"], signed["a"], signed["agreement"]
    assert push(a, update(agreement, {"status": to}, {"status": base})) == ["illegal_transition"]
    assert central.get(Agreement, agreement)["status"] == "active"
    # A legal one applies.
    assert push(a, update(agreement, {"status": "completed"}, {"status": "active"})) == [""]
    assert central.get(Agreement, agreement)["status"] == "completed"


def test_signing_with_a_hash_that_does_not_verify_is_refused(signed):
    central, a = signed["central"], signed["a"]
    draft = a.add(Agreement, number="AM-2026-AAA-0002", family_id=signed["family"], year=2027,
                  period_start=date(2027, 1, 1), period_end=date(2027, 12, 31))
    assert a.sync().rejected == 0
    content = {"format": 1, "number": "AM-2026-AAA-0002", "period": {"start": "2027-01-01"}}
    forged = {"status": "signed", "signed_content": content, "content_hash": "0" * 64}
    assert push(a, update(draft, forged, {"status": "draft", "signed_content": None,
                                          "content_hash": None})) == ["content_hash_mismatch"]
    assert central.get(Agreement, draft)["status"] == "draft"
    # A new version that claims to be signed must carry content whose hash verifies too.
    insert = last_insert(a, "agreements")
    insert["i"] = str(uuid.uuid4())
    insert["d"].update(number="AM-2026-AAA-0003", status="active", signed_content=content,
                       content_hash="0" * 64, year=2028, period_start="2028-01-01",
                       period_end="2028-12-31")
    assert push(a, insert) == ["content_hash_mismatch"]
    # With the right hash both apply.
    right = {**forged, "content_hash": content_hash(content)}
    assert push(a, update(draft, right, {"status": "draft", "signed_content": None,
                                         "content_hash": None})) == [""]
    assert central.get(Agreement, draft)["status"] == "signed"


def test_new_records_must_name_the_pushing_node_as_maker_and_carry_its_code(signed):
    central, a, b = signed["central"], signed["a"], signed["b"]
    b_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "BBB"))
    family = last_insert(a, "families")
    forged_origin = json.loads(json.dumps(family))
    forged_origin["i"] = str(uuid.uuid4())
    forged_origin["d"].update(code="AM-AAA-0901", dni=None, origin_node=b_id)
    forged_code = json.loads(json.dumps(family))
    forged_code["i"] = str(uuid.uuid4())
    forged_code["d"].update(code="AM-BBB-0042", dni=None)
    audit = last_insert(a, "audit_log")
    audit["i"] = str(uuid.uuid4())
    audit["d"].update(node_id=b_id, username="admin")
    honest = json.loads(json.dumps(family))
    honest["i"] = str(uuid.uuid4())
    honest["d"].update(code="AM-AAA-0902", dni=None)
    assert push(a, forged_origin, forged_code, audit, honest) == [
        "forged_origin", "forged_code", "forged_origin", ""]
    families = central.rows(Family)
    assert uuid.UUID(forged_origin["i"]) not in families
    assert uuid.UUID(forged_code["i"]) not in families
    assert uuid.UUID(honest["i"]) in families
    assert uuid.UUID(audit["i"]) not in central.rows(AuditEntry)
    del b


def test_a_node_neither_creates_nor_changes_a_catalogue_entry(signed):
    central, a = signed["central"], signed["a"]
    with central.app.app_context():
        from fieldapp.agreements.catalogue import seed_catalogues

        seed_catalogues()
        db.session.commit()
    entry_id = catalogue_id("commitment_types", "no_clearing")
    entry = central.get(CommitmentType, entry_id)
    as_seeded = {"t": "commitment_types", "i": str(entry_id), "o": "i", "v": 1, "d": {
        "code": "no_clearing", "text_es": entry["text_es"], "text_en": entry["text_en"],
        "position": entry["position"], "active": True, "voided": False,
        "origin_node": "anything", "version": 1}}
    created = {"t": "commitment_types", "i": str(catalogue_id("commitment_types", "mine")),
               "o": "i", "v": 1, "d": {"code": "mine", "text_es": "Mío", "text_en": "Mine",
                                       "position": 50, "active": True, "voided": False,
                                       "origin_node": str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                                                     "AAA")), "version": 1}}
    edited = {"t": "commitment_types", "i": str(entry_id), "o": "u", "v": 2, "bv": 1,
              "d": {"text_es": "Talar un poco"}, "p": {"text_es": entry["text_es"]}}
    deleted = {"t": "commitment_types", "i": str(entry_id), "o": "d"}
    assert push(a, as_seeded, created, edited, deleted) == [
        "", "central_catalogue", "central_catalogue", "central_catalogue"]
    assert central.get(CommitmentType, entry_id) == entry
    assert central.count(CommitmentType, CommitmentType.code == "mine") == 0


def test_a_dni_registered_on_two_nodes_keeps_both_families_and_flags_them(world):
    central, a, b = world["central"], world["a"], world["b"]
    first = a.add_family(world["c1"], dni="47001234", head_given_names="Rosa")
    second = b.add_family(world["c1"], dni="47001234", head_given_names="Rosa Elena")
    assert a.sync().rejected == 0
    assert b.sync().rejected == 0
    assert {first, second} <= set(central.rows(Family))
    conflicts = [c for c in central.rows(central.state.tables.conflicts).values()
                 if c["kind"] == "duplicate_dni"]
    assert [(c["row_id"], c["other_row_id"], c["status"]) for c in conflicts] == [
        (second, first, "open")]
    client = login(central.app, "coordinator")
    page = client.get("/nodes/conflicts").get_data(as_text=True)
    assert "un DNI en dos familias" in page
    assert "AM-AAA-0001" in page
    assert "AM-BBB-0001" in page
    detail = client.get(f"/nodes/conflicts/{conflicts[0]['id']}").get_data(as_text=True)
    assert "Un DNI en dos familias" in detail
    assert "Rosa Elena" in detail


def test_an_amendment_signed_and_activated_offline_retires_the_previous_version(signed):
    central, a = signed["central"], signed["a"]
    base = signed["agreement"]
    amendment = signed_agreement(a, signed["family"], "AM-2026-AAA-0002", supersedes=base)
    with a.app.test_request_context():
        change_status(db.session.get(Agreement, amendment), "active")
        db.session.commit()
    assert a.get(Agreement, base)["status"] == "superseded"
    report = a.sync()
    assert report.rejected == 0
    assert central.get(Agreement, amendment)["status"] == "active"
    assert central.get(Agreement, base)["status"] == "superseded"


def test_a_coordinators_decision_cannot_move_an_agreement_off_its_transitions(signed):
    """A status conflict opened while the move was legal; central's status moved on since:
    taking the node's value is refused (the same rules), the agreement stays as it is."""
    central, a, agreement = signed["central"], signed["a"], signed["agreement"]
    assert push(a, update(agreement, {"status": "suspended", "status_reason": "Tala"},
                          {"status": "signed", "status_reason": None})) == [""]
    [conflict] = [c for c in central.rows(central.state.tables.conflicts).values()
                  if c["field"] == "status"]
    central.edit(Agreement, agreement, status="completed")
    client = login(central.app, "coordinator")
    response = client.post(f"/nodes/conflicts/{conflict['id']}", data={"choice": "node"})
    assert response.status_code == 422
    assert central.get(Agreement, agreement)["status"] == "completed"


def test_a_set_aside_version_is_never_activated_by_a_push(signed):
    """The coordinator set this version aside (conflict screen): a node activating it offline is
    refused like the app's own activation (agreements.rules: one rule for both paths)."""
    central, a, agreement = signed["central"], signed["a"], signed["agreement"]
    with central.app.app_context():
        row = db.session.get(Agreement, agreement)
        row.status, row.conflict_flag = "signed", "set_aside"
        db.session.commit()
    assert push(a, update(agreement, {"status": "active"}, {"status": "signed"})) == [
        "version_set_aside"]
    assert central.get(Agreement, agreement)["status"] == "signed"


def test_a_signed_agreements_terms_are_never_added_to_changed_or_deleted(signed):
    """Its commitments, promised benefits and signatures are the terms /verify checks: a row the
    signed content does not list is refused, and no existing row changes or goes."""
    central, a, agreement = signed["central"], signed["a"], signed["agreement"]
    a_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "AAA"))
    with central.app.app_context():
        from fieldapp.agreements.catalogue import seed_catalogues
        from fieldapp.agreements.models import AgreementBenefit, AgreementCommitment

        seed_catalogues()
        # The commitment the signed content lists, as central holds it (sent before signing).
        listed = AgreementCommitment(
            agreement_id=agreement, commitment_type_id=catalogue_id("commitment_types",
                                                                    "no_clearing"),
            text_es="No talar ni quemar", text_en="No clearing", position=1)
        db.session.add(listed)
        db.session.info["applying_remote"] = True  # as sync wrote it: the app's guard allows
        db.session.flush()
        db.session.info.pop("applying_remote")
        listed_id = listed.id
        db.session.commit()
    row = {"agreement_id": str(agreement), "version": 1, "voided": False, "origin_node": a_id,
           "created_at": "2026-01-06T10:00:00+00:00", "updated_at": "2026-01-06T10:00:00+00:00"}
    more_benefit = {"t": "agreement_benefits", "i": str(uuid.uuid4()), "o": "i", "v": 1, "d": {
        **row, "benefit_type_id": str(catalogue_id("benefit_types", "cookstove")),
        "quantity": "5", "unit": "unidades", "schedule": "", "position": 1}}
    more_commitment = {"t": "agreement_commitments", "i": str(uuid.uuid4()), "o": "i", "v": 1,
                       "d": {**row, "commitment_type_id": str(catalogue_id("commitment_types",
                                                                          "no_hunting")),
                             "text_es": "No cazar", "text_en": "No hunting", "position": 2}}
    changed = {"t": "agreement_commitments", "i": str(listed_id), "o": "u", "v": 2, "bv": 1,
               "d": {"text_es": "Talar un poco"}, "p": {"text_es": "No talar ni quemar"}}
    deleted = {"t": "agreement_commitments", "i": str(listed_id), "o": "d"}
    assert push(a, more_benefit, more_commitment, changed, deleted) == [
        "signed_immutable"] * 4
    assert central.count(AgreementBenefit, AgreementBenefit.agreement_id == agreement) == 0
    assert central.get(AgreementCommitment, listed_id)["text_es"] == "No talar ni quemar"
    assert central.count(AgreementCommitment, AgreementCommitment.agreement_id == agreement) == 1
