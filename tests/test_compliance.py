"""Compliance visits and sanctions through HTTP: findings per commitment, date rules, GPS,
graduated sanctions by history, coordinator decisions changing the agreement, roles."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from cyclekit import agreement_in_state, get_agreement, login, seed
from sqlalchemy import select

from fieldapp.extensions import db

JSON = {"Accept": "application/json"}


@pytest.fixture
def family(app, make_family):
    seed(app)
    return make_family()


@pytest.fixture
def staff(app):
    return login(app, "field_staff")


@pytest.fixture
def coordinator(app):
    return login(app, "coordinator")


def _commitments(app, agreement_id):
    agreement = get_agreement(app, agreement_id)
    return {c.commitment_type.code: c.id for c in agreement.commitments}


def _visit_form(app, agreement_id, family_id, results=None, **overrides):
    commitments = _commitments(app, agreement_id)
    results = results or {}
    data = {"agreement_id": str(agreement_id), "family": str(family_id),
            "visited_on": "2026-05-20", "monitor_name": "Nilda Chuquizuta", "lat": "-5.7012",
            "lon": "-77.4811", "notes": "Parcela bien cuidada",
            "idempotency_key": str(uuid.uuid4())}
    for code, cid in commitments.items():
        data[f"result_{cid.hex}"] = results.get(code, "met")
        data[f"note_{cid.hex}"] = ""
    data.update(overrides)
    return data


def _post_visit(client, app, agreement_id, family_id, results=None, **overrides):
    return client.post(f"/compliance/visits/new?family={family_id}",
                       data=_visit_form(app, agreement_id, family_id, results, **overrides),
                       headers=JSON)


def _sanctions(app):
    from fieldapp.compliance.models import Sanction

    with app.app_context():
        rows = db.session.execute(select(Sanction).order_by(Sanction.created_at)).scalars().all()
        db.session.expunge_all()
        return rows


def test_visit_records_a_finding_per_commitment(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    page = staff.get(f"/compliance/visits/new?family={family}").get_data(as_text=True)
    assert 'data-outbox="visit"' in page
    assert 'class="geo"' in page
    assert "data-geo-lat" in page
    assert "No cazar ni comerciar especies amenazadas" in page
    assert "cumplido parcialmente" in page
    r = _post_visit(staff, app, agreement_id, family,
                    {"no_hunting": "partial", "attend_trainings": "not_checked"})
    assert r.status_code == 201
    visit_id = r.get_json()["id"]
    from fieldapp.compliance.models import ComplianceVisit

    with app.app_context():
        visit = db.session.get(ComplianceVisit, uuid.UUID(visit_id))
        results = {f.commitment.commitment_type.code: f.result for f in visit.findings}
        assert (visit.lat, visit.lon) == (-5.7012, -77.4811)
    assert results == {"no_clearing": "met", "no_hunting": "partial",
                       "attend_trainings": "not_checked"}
    assert _sanctions(app) == []  # partly met is not a breach
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "1 cumplido parcialmente" in page


def test_visit_double_submit_makes_one_visit(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    data = _visit_form(app, agreement_id, family, {"no_clearing": "breached"})
    first = staff.post(f"/compliance/visits/new?family={family}", data=data, headers=JSON)
    second = staff.post(f"/compliance/visits/new?family={family}", data=data, headers=JSON)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    assert len(_sanctions(app)) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "needle"),
    [
        ({"visited_on": "2025-12-31"}, "visited_on", "no puede ser anterior"),
        ({"visited_on": "2999-01-01"}, "visited_on", "fecha futura"),
        ({"visited_on": ""}, "visited_on", None),
        ({"lat": "-95"}, "lat", None),
        ({"lat": "-5.7", "lon": ""}, "lat", "ninguna"),
        ({"monitor_name": ""}, "monitor_name", None),
    ],
)
def test_bad_visit_is_refused(app, staff, family, overrides, field, needle):
    agreement_id = agreement_in_state(app, family, "active")
    r = _post_visit(staff, app, agreement_id, family, **overrides)
    assert r.status_code == 422
    assert field in r.get_json()["error"]["details"]["fields"]
    html = staff.post(f"/compliance/visits/new?family={family}",
                      data=_visit_form(app, agreement_id, family, **overrides))
    assert html.status_code == 422
    if needle:
        assert needle in html.get_data(as_text=True)


def test_unknown_result_is_refused(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    cid = _commitments(app, agreement_id)["no_clearing"]
    r = _post_visit(staff, app, agreement_id, family, **{f"result_{cid.hex}": "excellent"})
    assert r.status_code == 422
    assert f"result_{cid.hex}" in r.get_json()["error"]["details"]["fields"]


def test_visit_future_date_refused_in_operations(app, family):
    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.operations import record_visit
    from fieldapp.errors import ValidationFailed
    from fieldapp.families.models import Family
    from fieldapp.submissions import local_today

    agreement_id = agreement_in_state(app, family, "active")
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            record_visit(db.session.get(Family, family), db.session.get(Agreement, agreement_id),
                         {"visited_on": local_today() + timedelta(days=1), "monitor_name": "x"})
        assert caught.value.details["field"] == "visited_on"


@pytest.mark.parametrize("status", ["draft", "terminated"])
def test_visit_refused_without_a_binding_agreement(app, staff, family, status):
    agreement_id = agreement_in_state(app, family, status)
    r = _post_visit(staff, app, agreement_id, family)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "visit_refused"
    page = staff.get(f"/compliance/visits/new?family={family}").get_data(as_text=True)
    if status == "draft":
        assert "no tiene un acuerdo firmado" in page


def test_sanctions_graduate_with_history_and_change_the_agreement(app, staff, coordinator,
                                                                  family):
    agreement_id = agreement_in_state(app, family, "active")
    expected = ["warning", "reduced_benefits", "suspension", "termination"]
    statuses = ["active", "active", "suspended", "terminated"]
    for step, (level, status) in enumerate(zip(expected, statuses, strict=True)):
        r = _post_visit(staff, app, agreement_id, family, {"no_clearing": "breached"},
                        visited_on=f"2026-0{step + 3}-10")
        assert r.status_code == 201, r.get_json()
        sanction = _sanctions(app)[-1]
        assert (sanction.level, sanction.status) == (level, "proposed")
        # A second breach while one awaits a decision proposes nothing more.
        if step == 0:
            _post_visit(staff, app, agreement_id, family, {"no_hunting": "breached"},
                        visited_on="2026-03-11")
            assert len(_sanctions(app)) == 1
            queue = coordinator.get("/compliance/sanctions/").get_data(as_text=True)
            assert "amonestación" in queue
            assert "Confirmar" in queue
        r = coordinator.post(f"/compliance/sanctions/{sanction.id}/decide",
                             data={"decision": "confirm", "notes": "Verificado en campo"})
        assert r.status_code == 302
        assert _sanctions(app)[-1].status == "confirmed"
        assert get_agreement(app, agreement_id).status == status
        if status == "suspended":
            # Confirmation changed what can be delivered.
            from cyclekit import catalogue

            _, benefits = catalogue(app)
            refused = staff.post("/deliveries/new", data={
                "family_id": str(family), "benefit_type_id": str(benefits["medical_kit"]),
                "quantity": "1", "delivered_on": "2026-05-11", "delivered_by_name": "x",
                "receipt_kind": "thumbprint_paper"}, headers=JSON)
            assert refused.status_code == 409
            assert refused.get_json()["error"]["details"]["reason"] == "suspended"
    assert "Sanción confirmada" in (get_agreement(app, agreement_id).status_reason or "")


def test_reduced_benefits_lowers_what_can_be_delivered(app, staff, coordinator, family):
    from cyclekit import catalogue

    agreement_id = agreement_in_state(app, family, "active")
    for _level in ("warning", "reduced_benefits"):
        _post_visit(staff, app, agreement_id, family, {"no_hunting": "breached"})
        coordinator.post(f"/compliance/sanctions/{_sanctions(app)[-1].id}/decide",
                         data={"decision": "confirm"})
    _, benefits = catalogue(app)
    form = {"family_id": str(family), "benefit_type_id": str(benefits["coffee_seedlings"]),
            "quantity": "600", "unit": "plantones", "delivered_on": "2026-06-01",
            "delivered_by_name": "x", "receipt_kind": "thumbprint_paper"}
    r = staff.post("/deliveries/new", data=form, headers=JSON)
    assert r.status_code == 422
    assert r.get_json()["error"]["details"]["allowed"] == "500.00"
    assert staff.post("/deliveries/new", data={**form, "quantity": "500"},
                      headers=JSON).status_code == 201


def test_dismissed_sanction_does_not_count_and_cannot_be_decided_twice(app, staff, coordinator,
                                                                       family):
    agreement_id = agreement_in_state(app, family, "active")
    _post_visit(staff, app, agreement_id, family, {"no_clearing": "breached"})
    first = _sanctions(app)[0]
    r = coordinator.post(f"/compliance/sanctions/{first.id}/decide",
                         data={"decision": "dismiss", "notes": "Era un árbol caído"})
    assert r.status_code == 302
    assert get_agreement(app, agreement_id).status == "active"
    again = coordinator.post(f"/compliance/sanctions/{first.id}/decide",
                             data={"decision": "confirm"}, headers=JSON)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "sanction_decided"
    _post_visit(staff, app, agreement_id, family, {"no_clearing": "breached"},
                visited_on="2026-06-01")
    assert _sanctions(app)[-1].level == "warning"  # the dismissed one did not count
    page = coordinator.get("/compliance/sanctions/?status=dismissed").get_data(as_text=True)
    assert "Era un árbol caído" in page


def test_suspension_confirmation_refused_when_agreement_not_active(app, staff, coordinator,
                                                                   family):
    agreement_id = agreement_in_state(app, family, "active")
    from fieldapp.compliance.models import Sanction

    _post_visit(staff, app, agreement_id, family, {"no_clearing": "breached"})
    sanction_id = _sanctions(app)[0].id
    with app.app_context():
        db.session.get(Sanction, sanction_id).level = "suspension"
        db.session.commit()
    coordinator.post(f"/agreements/{agreement_id}/status",
                     data={"to": "completed", "reason": "Fin del periodo"})
    r = coordinator.post(f"/compliance/sanctions/{sanction_id}/decide",
                         data={"decision": "confirm"}, headers=JSON)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "transition_refused"
    assert _sanctions(app)[0].status == "proposed"
    html = coordinator.post(f"/compliance/sanctions/{sanction_id}/decide",
                            data={"decision": "confirm"}, follow_redirects=True)
    assert "no se puede suspender" in html.get_data(as_text=True)


def test_only_coordinators_decide_sanctions(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    _post_visit(staff, app, agreement_id, family, {"no_clearing": "breached"})
    sanction_id = _sanctions(app)[0].id
    assert staff.get("/compliance/sanctions/").status_code == 403
    assert staff.post(f"/compliance/sanctions/{sanction_id}/decide",
                      data={"decision": "confirm"}).status_code == 403
    assert _sanctions(app)[0].status == "proposed"
    assert get_agreement(app, agreement_id).status == "active"


def test_everything_is_in_the_audit_log(app, staff, coordinator, family):
    agreement_id = agreement_in_state(app, family, "active")
    _post_visit(staff, app, agreement_id, family, {"no_clearing": "breached"})
    sanction_id = _sanctions(app)[0].id
    coordinator.post(f"/compliance/sanctions/{sanction_id}/decide", data={"decision": "confirm"})
    from fieldapp.audit.models import AuditEntry

    with app.app_context():
        entries = db.session.execute(
            select(AuditEntry).where(AuditEntry.family_id == family)
            .order_by(AuditEntry.at)).scalars().all()
        actions = [(e.action, e.username) for e in entries]
        visit_entry = next(e for e in entries if e.entity_type == "compliance_visits")
        assert visit_entry.after["findings"]["no_clearing"] == "breached"
        confirm = next(e for e in entries if e.action == "sanction:confirm")
        assert confirm.before == {"status": "proposed", "decided_by_name": None,
                                  "decided_by_id": None, "decided_at": None}
    assert ("sanction:propose", "cycle-field-staff") in actions
    assert ("sanction:confirm", "cycle-coordinator") in actions


def test_visit_pages_in_english(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    visit_id = _post_visit(staff, app, agreement_id, family).get_json()["id"]
    staff.post("/auth/language/en", data={"next": "/"})
    page = staff.get(f"/compliance/visits/{visit_id}").get_data(as_text=True)
    assert "Findings" in page
    assert "Do not hunt or trade threatened wildlife species." in page
    form = staff.get(f"/compliance/visits/new?family={family}").get_data(as_text=True)
    assert "partly met" in form
    assert "Save visit" in form
