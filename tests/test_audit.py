"""Audit history through HTTP: every create, change, reversal, status transition and sanction of
the cycle is recorded (who, when, node, before and after); coordinators read a family's or an
agreement's history; field staff cannot."""

from __future__ import annotations

import uuid

import pytest
from cyclekit import SIGNATURE, catalogue, draft_form, login, seed, sign_form
from sqlalchemy import or_, select

from fieldapp.extensions import db
from tests.test_crawl_spanish import findings, visible_text

JSON = {"Accept": "application/json"}


@pytest.fixture
def family(app, make_family):
    seed(app)
    return make_family()


def _whole_cycle(app, family):
    """Draft, sign, activate, train, deliver, reverse, visit with a breach, confirm."""
    staff = login(app, "field_staff")
    coordinator = login(app, "coordinator")
    agreement_id = staff.post("/agreements/new", data=draft_form(app, family),
                              headers=JSON).get_json()["id"]
    staff.post(f"/agreements/{agreement_id}/sign", data=sign_form())
    coordinator.post(f"/agreements/{agreement_id}/status", data={"to": "active"})
    with app.app_context():
        from fieldapp.families.models import Family

        community_id = db.session.get(Family, family).community_id
    session_id = staff.post("/trainings/new", data={
        "held_on": "2026-04-01", "topic": "Abonos orgánicos", "community_id": str(community_id),
        "trainer_name": "W", "duration_hours": "2"}, headers=JSON).get_json()["id"]
    staff.post(f"/trainings/{session_id}/attendance", data={"family": [str(family)], "shown": ""})
    _, benefits = catalogue(app)
    delivery_id = staff.post("/deliveries/new", data={
        "family_id": str(family), "benefit_type_id": str(benefits["medical_kit"]),
        "quantity": "1", "delivered_on": "2026-04-02", "delivered_by_name": "W",
        "receipt_kind": "signature", "receipt_signature": SIGNATURE,
        "unit": "botiquines"}, headers=JSON).get_json()["id"]
    staff.post(f"/deliveries/{delivery_id}/reverse", data={"reason": "Botiquín duplicado"})
    with app.app_context():
        from fieldapp.agreements.queries import load_agreement

        agreement = load_agreement(uuid.UUID(agreement_id))
        results = {f"result_{c.id.hex}": "breached" if c.commitment_type.code == "no_clearing"
                   else "met" for c in agreement.commitments}
    staff.post(f"/compliance/visits/new?family={family}", data={
        "agreement_id": agreement_id, "visited_on": "2026-04-03", "monitor_name": "N",
        **results})
    from fieldapp.compliance.models import Sanction

    with app.app_context():
        sanction_id = db.session.execute(select(Sanction.id)).scalar_one()
    coordinator.post(f"/compliance/sanctions/{sanction_id}/decide", data={"decision": "confirm"})
    return staff, coordinator, agreement_id


def test_the_whole_cycle_is_audited(app, family):
    _whole_cycle(app, family)
    from fieldapp.audit.models import AuditEntry

    with app.app_context():
        entries = db.session.execute(
            select(AuditEntry)
            .where(or_(AuditEntry.family_id == family, AuditEntry.entity_id == family))
            .order_by(AuditEntry.at)
        ).scalars().all()
        seen = {(e.entity_type, e.action) for e in entries}
        nodes = {e.node_id for e in entries}
        status_active = next(e for e in entries if e.action == "status:active")
        reversal = next(e for e in entries if e.action == "reverse")
        assert status_active.before == {"status": "signed", "status_changed_at":
                                        status_active.before["status_changed_at"]}
        assert status_active.after["status"] == "active"
        assert status_active.username == "cycle-coordinator"
        assert reversal.after["reason"] == "Botiquín duplicado"
        assert reversal.after["reverses_id"]
    assert {
        ("families", "create"), ("agreements", "create"), ("agreements", "status:signed"),
        ("agreements", "status:active"), ("attendance", "attendance:add"),
        ("benefit_deliveries", "create"), ("benefit_deliveries", "reverse"),
        ("compliance_visits", "create"), ("sanctions", "sanction:propose"),
        ("sanctions", "sanction:confirm"),
    } <= seen
    assert nodes == {"00000000-0000-0000-0000-00000000cafe"}


def test_coordinator_reads_family_and_agreement_history(app, family):
    staff, coordinator, agreement_id = _whole_cycle(app, family)
    page = coordinator.get(f"/audit/families/{family}").get_data(as_text=True)
    assert "Historial de auditoría" in page
    for needle in ("entrega anulada", "sanción confirmada", "asistencia registrada", "activado",
                   "cycle-coordinator", "cycle-field-staff", "<td>TST</td>"):  # the node's code
        assert needle in page, needle
    assert "Botiquín duplicado" in page
    agreement_page = coordinator.get(f"/audit/agreements/{agreement_id}").get_data(as_text=True)
    assert "firmado" in agreement_page
    assert "entrega anulada" in agreement_page
    assert "asistencia registrada" not in agreement_page  # attendance is not the agreement's
    # The family and agreement pages link to their history for coordinators only.
    assert f"/audit/families/{family}" in coordinator.get(f"/families/{family}").get_data(
        as_text=True)
    assert f"/audit/families/{family}" not in staff.get(f"/families/{family}").get_data(
        as_text=True)


def test_history_reads_as_words_not_keys_json_or_ids(app, family):
    """Field names labelled, records by code, statuses and results in Spanish, times in Lima."""
    staff, coordinator, agreement_id = _whole_cycle(app, family)
    page = coordinator.get(f"/audit/agreements/{agreement_id}").get_data(as_text=True)
    assert "<dt>Estado</dt>" in page
    assert "<del>borrador</del> → <ins>firmado</ins>" in page
    text = visible_text(page)
    assert "draft" not in text
    assert "status" not in text
    assert "{" not in text
    family_page = coordinator.get(f"/audit/families/{family}").get_data(as_text=True)
    assert "<dt>Integrantes del hogar</dt>" in family_page
    text = visible_text(family_page)
    assert "breached" not in text
    assert "incumplido" in text
    text = text.replace("Test field_staff", "")  # the test user's full name
    assert findings(text, set()) == [], findings(text, set())  # no UUID, key or ISO time


def test_field_staff_cannot_read_audit_history(app, family):
    staff, _, agreement_id = _whole_cycle(app, family)
    assert staff.get(f"/audit/families/{family}").status_code == 403
    assert staff.get(f"/audit/agreements/{agreement_id}").status_code == 403
    assert staff.get(f"/audit/families/{family}", headers=JSON).get_json()["error"]["code"] == (
        "forbidden")


def test_audit_history_is_paginated_and_in_english(app, family):
    _, coordinator, agreement_id = _whole_cycle(app, family)
    app.config["AUDIT_PER_PAGE"] = 3
    first = coordinator.get(f"/audit/families/{family}").get_data(as_text=True)
    assert "Página 1 de" in first
    assert f"/audit/families/{family}?page=2" in first
    coordinator.post("/auth/language/en", data={"next": "/"})
    page = coordinator.get(f"/audit/agreements/{agreement_id}").get_data(as_text=True)
    assert "Audit history" in page
    assert "Before → after" in page


def test_unknown_ids_give_404(app):
    coordinator = login(app, "coordinator")
    assert coordinator.get(f"/audit/families/{uuid.uuid4()}").status_code == 404
    assert coordinator.get(f"/audit/agreements/{uuid.uuid4()}").status_code == 404
    assert coordinator.get("/audit/agreements/not-a-uuid").status_code == 404
