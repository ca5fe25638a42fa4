# ruff: noqa: S603, S607 - fixed poppler and zbar commands
"""Grievances through their front doors: the form, the workflow, who sees a confidential one,
deadlines with a frozen clock, the slip and its QR, the public status page, the figures and the
export."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from fieldapp.extensions import db

JSON = {"Accept": "application/json"}

def _today() -> date:
    """Today where the program works (Lima): the day the app checks "not in the future" by."""
    return datetime.now(ZoneInfo("America/Lima")).date()



def _record(client: Any, family_id: Any = None, **fields: Any) -> Any:
    data = {"received_on": _today().isoformat(), "channel": "in_person",
            "category": "benefit_not_received",
            "description": "No llegaron los plantones prometidos en agosto.",
            "idempotency_key": str(uuid.uuid4()), **fields}
    url = f"/grievances/new?family={family_id}" if family_id else "/grievances/new"
    return client.post(url, data=data, headers=JSON)


def _step(client: Any, grievance_id: str, action: str, **fields: Any) -> Any:
    return client.post(f"/grievances/{grievance_id}/step", data={"action": action, **fields},
                       headers=JSON)


def _grievance(app: Any, grievance_id: str) -> Any:
    from fieldapp.grievances.models import Grievance

    with app.app_context():
        found = db.session.get(Grievance, uuid.UUID(grievance_id))
        db.session.expunge(found)
        return found


@pytest.fixture
def family(make_family: Any) -> uuid.UUID:
    return make_family()


def test_a_family_grievance_gets_a_code_and_its_due_days(app, client, auth, family):
    auth.login("field_staff")
    response = _record(client, family)
    assert response.status_code == 201, response.get_data(as_text=True)
    grievance = _grievance(app, response.json["id"])
    assert grievance.code.startswith("AM-G-TST-")
    assert grievance.status == "received"
    assert grievance.acknowledge_due_on == _today() + timedelta(days=5)
    assert grievance.answer_due_on == _today() + timedelta(days=30)
    assert grievance.due_on == grievance.acknowledge_due_on
    page = client.get(f"/grievances/{grievance.id}").get_data(as_text=True)
    assert grievance.code in page
    assert "No llegaron los plantones" in page
    assert ">recibida<" in page  # the status in Spanish, never the key alone
    assert grievance.code in client.get("/grievances/").get_data(as_text=True)


def test_the_deadlines_come_from_the_configuration(app_factory, make_family):
    app = app_factory(GRIEVANCE_ACKNOWLEDGE_DAYS=2, GRIEVANCE_ANSWER_DAYS=10)
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(app, client).login("coordinator")
    with app.test_request_context():
        from fieldapp.communities.models import Community
        from fieldapp.families.operations import create_family

        community = Community(code="C900", name="Nueva Esperanza", district="Moyobamba")
        db.session.add(community)
        db.session.flush()
        family = create_family({"head_given_names": "Rosa", "head_surname": "Quispe",
                                "members_count": 3, "data_consent": True,
                                "community_id": community.id, "confirm_not_duplicate": True})
        db.session.commit()
        family_id = family.id
    received = _today() - timedelta(days=1)
    response = _record(client, family_id, received_on=received.isoformat())
    grievance = _grievance(app, response.json["id"])
    assert grievance.acknowledge_due_on == received + timedelta(days=2)
    assert grievance.answer_due_on == received + timedelta(days=10)


def test_an_anonymous_grievance_names_its_community_and_no_record(app, client, auth,
                                                                 make_community, family):
    community = make_community()
    auth.login("field_staff")
    missing = _record(client)
    assert missing.status_code == 422
    assert "community" in missing.json["error"]["details"]["fields"]
    response = _record(client, community=str(community))
    assert response.status_code == 201
    grievance = _grievance(app, response.json["id"])
    assert grievance.family_id is None
    assert grievance.community_id == community
    assert "Anónima" in client.get(f"/grievances/{grievance.id}").get_data(as_text=True)


def test_bad_input_is_refused_clearly(app, client, auth, family, make_family):
    auth.login("field_staff")
    other = make_family(head_given_names="Juan", head_surname="Tapullima")
    from fieldapp.compliance.models import Sanction  # noqa: F401 (a related kind)

    cases = [
        ({"description": "  "}, "description"),
        ({"category": "no-such-category"}, "category"),
        ({"channel": "pigeon"}, "channel"),
        ({"received_on": (_today() + timedelta(days=3)).isoformat()}, "received_on"),
        ({"related": f"agreement:{uuid.uuid4()}"}, "related"),
        ({"related": "spaceship:nothing"}, "related"),
        ({"staff_name": "Pedro"}, "confidential"),  # about staff, not ticked confidential
    ]
    for fields, field in cases:
        response = _record(client, family, **fields)
        assert response.status_code == 422, (fields, response.get_data(as_text=True))
        assert field in response.json["error"]["details"]["fields"], fields
    # A record of another family is refused too.
    with app.test_request_context():
        from fieldapp.agreements.models import Agreement

        assert db.session.execute(select(Agreement.id).where(
            Agreement.family_id == other)).first() is None
    assert client.get("/grievances/not-a-uuid").status_code == 404
    assert client.get(f"/grievances/{uuid.uuid4()}").status_code == 404
    assert client.post(f"/grievances/{uuid.uuid4()}/step", data={"action": "x"},
                       headers=JSON).status_code == 404
    assert client.get("/grievances/summary?from=yesterday").status_code == 403  # staff


def _coordinators(auth: Any) -> None:
    auth.user("coordinator", "ana")
    auth.user("coordinator", "beto")


def test_the_workflow_from_receipt_to_an_appeal_answered_by_another(app, client, auth, family):
    _coordinators(auth)
    auth.login("coordinator", "ana")
    gid = _record(client, family).json["id"]
    assert _step(client, gid, "acknowledge", note="Llamamos a la familia.").json["status"] == \
        "acknowledged"
    assert _step(client, gid, "assign", assignee="ana").json["status"] == "under_review"
    answered = _step(client, gid, "answer", answer="Los plantones llegan el lunes.",
                     action_taken="Pedido al vivero.")
    assert answered.json["status"] == "answered"
    # The appeal goes to someone other than who answered.
    refused = _step(client, gid, "appeal", assignee="ana")
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "invalid"
    assert _step(client, gid, "appeal", assignee="beto", note="No llegaron.").json["status"] \
        == "appealed"
    # Ana answered first: she cannot answer the appeal.
    again = _step(client, gid, "answer", answer="Ya llegan.")
    assert again.status_code == 403
    auth.logout()
    auth.login("coordinator", "beto")
    final = _step(client, gid, "answer", answer="Se entregaron el 3 de diciembre.")
    assert final.json["status"] == "answered"
    assert _step(client, gid, "appeal", assignee="ana").status_code == 409  # once only
    assert _step(client, gid, "close", note="Resuelto con la entrega.").json["status"] == "closed"
    grievance = _grievance(app, gid)
    assert grievance.first_answered_by == "ana"
    assert grievance.answered_by_username == "beto"
    assert grievance.due_on is None
    assert grievance.closing_reason == "Resuelto con la entrega."
    with app.app_context():
        from fieldapp.audit.models import AuditEntry
        from fieldapp.grievances.models import GrievanceStep

        steps = db.session.execute(select(GrievanceStep.step).where(
            GrievanceStep.grievance_id == uuid.UUID(gid)).order_by(GrievanceStep.at)).scalars()
        assert list(steps) == ["received", "acknowledged", "under_review", "answered",
                               "appealed", "answered", "closed"]
        actions = set(db.session.execute(select(AuditEntry.action).where(
            AuditEntry.entity_id == uuid.UUID(gid))).scalars())
        assert {"create", "grievance:acknowledged", "grievance:under_review",
                "grievance:answered", "grievance:appealed", "grievance:closed"} <= actions
    page = client.get(f"/grievances/{gid}").get_data(as_text=True)
    assert ">apelada<" in page
    assert ">cerrada<" in page


def test_an_answer_needs_its_text_and_steps_follow_the_workflow(app, client, auth, family):
    auth.login("coordinator")
    gid = _record(client, family).json["id"]
    early = _step(client, gid, "answer", answer="Respuesta")
    assert early.status_code == 409
    assert early.json["error"]["code"] == "transition_refused"
    _step(client, gid, "acknowledge")
    _step(client, gid, "assign", assignee="test-coordinator")
    empty = _step(client, gid, "answer", answer="   ")
    assert empty.status_code == 422
    assert empty.json["error"]["details"]["field"] == "answer"
    no_reason = _step(client, gid, "close", note="")
    assert no_reason.status_code == 422
    assert _grievance(app, gid).status == "under_review"
    # A person's browser gets the refusal as a message on the page, never a 500.
    page = client.post(f"/grievances/{gid}/step", data={"action": "answer", "answer": ""},
                       follow_redirects=True)
    assert page.status_code == 200
    assert "Escriba la respuesta" in page.get_data(as_text=True)


def test_field_staff_acknowledge_but_do_not_answer(app, client, auth, family):
    auth.login("field_staff")
    gid = _record(client, family).json["id"]
    assert _step(client, gid, "acknowledge").json["status"] == "acknowledged"
    assert _step(client, gid, "assign", assignee="x").status_code == 403
    assert _step(client, gid, "withdraw", note="La familia lo retira.").json["status"] == \
        "withdrawn"
    assert _step(client, gid, "acknowledge").status_code == 409


def test_a_grievance_is_never_deleted(app, client, auth, family):
    auth.login("coordinator")
    gid = _record(client, family).json["id"]
    for response in (client.post(f"/grievances/{gid}/delete", headers=JSON),
                     client.delete(f"/grievances/{gid}", headers=JSON)):
        assert response.status_code == 409
        assert response.json["error"]["code"] == "grievance_refused"
    page = client.post(f"/grievances/{gid}/delete")
    assert page.status_code == 409
    assert "nunca se elimina" in page.get_data(as_text=True)
    assert _grievance(app, gid).voided is False


def _confidential(client: Any, family: Any) -> str:
    response = _record(client, family, category="staff_conduct", confidential="y",
                       staff_username="pedro",
                       description="El promotor Pedro pidió dinero por la entrega.")
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


def test_a_confidential_grievance_is_for_coordinators_not_the_staff_named(
        app, client, auth, family, make_community, caplog):
    auth.user("coordinator", "pedro")  # named, even though a coordinator
    auth.user("field_staff", "lucia")
    auth.login("coordinator", "ana")
    caplog.set_level("DEBUG")
    gid = _confidential(client, family)
    assert "pidió dinero" not in caplog.text  # nor in the logs
    ordinary = _record(client, family).json["id"]
    code = _grievance(app, gid).code
    assert "pidió dinero" in client.get(f"/grievances/{gid}").get_data(as_text=True)
    auth.logout()
    for who in ("pedro", "lucia"):
        auth.login("coordinator" if who == "pedro" else "field_staff", who)
        for url in (f"/grievances/{gid}", f"/print/grievances/{gid}.pdf"):
            assert client.get(url).status_code == 404, (who, url)
        assert _step(client, gid, "acknowledge").status_code == 404
        for url in ("/grievances/?view=all", f"/families/{family}",
                    "/grievances/?view=open"):
            page = client.get(url).get_data(as_text=True)
            assert code not in page, (who, url)
            assert "pidió dinero" not in page, (who, url)
        assert _grievance(app, ordinary).code in client.get(
            "/grievances/?view=all").get_data(as_text=True)
        auth.logout()
    # Its audit entries leave out the description and the family.
    with app.app_context():
        from fieldapp.audit.models import AuditEntry

        entries = db.session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == uuid.UUID(gid))).scalars().all()
        assert entries
        assert all(e.family_id is None for e in entries)
        assert all("pidió dinero" not in str(e.after) and "pedro" not in str(e.after)
                   for e in entries)


def test_overdue_grievances_are_flagged_with_a_frozen_clock(app, client, auth, family,
                                                            monkeypatch):
    import fieldapp.grievances.views as views

    auth.login("coordinator")
    received = date(2026, 11, 2)
    monkeypatch.setattr(views, "local_today", lambda: date(2026, 11, 5))
    import fieldapp.grievances.operations as operations

    monkeypatch.setattr(operations, "local_today", lambda: date(2026, 11, 5))
    gid = _record(client, family, received_on=received.isoformat()).json["id"]
    assert "data-overdue" not in client.get("/grievances/").get_data(as_text=True)
    monkeypatch.setattr(views, "local_today", lambda: date(2026, 11, 8))  # due the 7th
    listing = client.get("/grievances/").get_data(as_text=True)
    assert "data-overdue" in listing
    assert "vencida" in listing
    assert _grievance(app, gid).code in client.get(
        "/grievances/?view=overdue").get_data(as_text=True)
    _step(client, gid, "acknowledge")  # now due: the answer day, 2 December
    assert "data-overdue" not in client.get("/grievances/").get_data(as_text=True)
    monkeypatch.setattr(views, "local_today", lambda: date(2026, 12, 3))
    assert "data-overdue" in client.get(f"/grievances/{gid}").get_data(as_text=True)
    # The one who holds it sees it in their worklist.
    _step(client, gid, "assign", assignee="test-coordinator")
    assert _grievance(app, gid).code in client.get(
        "/grievances/?view=mine").get_data(as_text=True)


def test_the_family_page_shows_its_grievances(app, client, auth, family):
    auth.login("field_staff")
    gid = _record(client, family).json["id"]
    page = client.get(f"/families/{family}").get_data(as_text=True)
    assert 'id="grievances"' in page
    assert _grievance(app, gid).code in page


def test_figures_count_in_time_overdue_and_the_median(app, client, auth, family):
    auth.login("coordinator")
    old = (_today() - timedelta(days=40)).isoformat()
    late = _record(client, family, received_on=old).json["id"]  # overdue
    quick = _record(client, family, category="boundary_dispute").json["id"]
    _step(client, quick, "acknowledge")
    _step(client, quick, "assign", assignee="test-coordinator")
    _step(client, quick, "answer", answer="Se midió el lindero.")
    page = client.get("/grievances/summary")
    assert page.status_code == 200
    dashboard = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="grievances"' in dashboard
    assert "1 vencidas" in dashboard
    assert "1 de 1 respondidas a tiempo" in dashboard
    summary = client.get("/dashboard/summary.pdf")
    assert summary.status_code == 200
    text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=summary.data,
                                   check=True, capture_output=True).stdout.decode().split())
    assert "Quejas Recibidas en el periodo 2" in text
    assert "Vencidas 1 Mediana de días para responder 0" in text
    with app.test_request_context():
        from flask_login import login_user

        from fieldapp.auth.models import User
        from fieldapp.grievances.queries import figures

        login_user(db.session.execute(select(User).where(
            User.username == "test-coordinator")).scalar_one())
        found = figures(_today())
    assert found["total"] == {"received": 2, "open": 1, "overdue": 1, "answered": 1,
                              "answered_in_time": 1, "median_days": 0}
    assert found["by_category"]["boundary_dispute"]["answered_in_time"] == 1
    assert found["by_category"]["benefit_not_received"]["overdue"] == 1
    assert late


def test_the_export_carries_no_confidential_details(app, client, auth, family):
    auth.user("field_staff", "pedro")
    auth.login("coordinator", "ana")
    gid = _confidential(client, family)
    ordinary = _record(client, family, description="Queja ordinaria sobre la entrega.",
                       received_on=(_today() - timedelta(days=2)).isoformat()).json["id"]
    _step(client, ordinary, "acknowledge")
    _step(client, ordinary, "assign", assignee="ana")
    _step(client, ordinary, "answer", answer="Se entregó.")
    today, start = _today(), _today() - timedelta(days=2)
    response = client.get(f"/dashboard/export/grievances.csv?from={start:%Y-%m}"
                          f"&to={today:%Y-%m}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert "pidió dinero" not in body
    assert "pedro" not in body.lower()
    assert "Queja ordinaria" not in body  # no description is exported at all
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    confidential = [r for r in rows if r["grievance_id"] == gid]
    assert len(rows) == 2
    assert len(confidential) == 1
    assert confidential[0]["category"] == ""
    assert confidential[0]["community_name"] == ""
    answered = next(r for r in rows if r["grievance_id"] == ordinary)
    assert answered["category"] == "benefit_not_received"
    assert answered["days_to_answer"] == "2"
    assert answered["answered_in_time"] == "true"
    assert answered["overdue"] == "false"
    assert answered["anonymous"] == "false"
    assert confidential[0]["answered_in_time"] == ""
    xlsx = client.get(f"/dashboard/export/grievances.xlsx?from={start:%Y-%m}&to={today:%Y-%m}")
    assert xlsx.status_code == 200
    assert b"pidi" not in xlsx.data


def test_the_public_status_page_shows_status_and_dates_only(app_factory, make_family):
    app = app_factory(ROLE="central", GRIEVANCE_STATUS_RATE_LIMIT=2)
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(app, client).login("coordinator")
    with app.test_request_context():
        from fieldapp.communities.models import Community
        from fieldapp.families.operations import create_family

        community = Community(code="C901", name="Aguas Claras", district="Moyobamba")
        db.session.add(community)
        db.session.flush()
        family = create_family({"head_given_names": "Rosa", "head_surname": "Quispe Mori",
                                "members_count": 3, "data_consent": True,
                                "community_id": community.id, "confirm_not_duplicate": True})
        db.session.commit()
        family_id = family.id
    gid = _record(client, family_id).json["id"]
    grievance = _grievance(app, gid)
    client.post("/auth/logout")
    public = app.test_client()
    page = public.get(f"/grievance-status/{grievance.status_token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert grievance.code in text
    assert "recibida" in text.lower()
    for secret in ("Quispe", "Rosa", "plantones", "Aguas Claras"):
        assert secret not in text
    assert public.get("/grievance-status/" + "0" * 32).status_code == 404
    limited = public.get(f"/grievance-status/{grievance.status_token}")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"]


def test_the_slip_carries_the_due_day_and_a_qr_to_a_page_that_tells_nothing_else(
        app_factory, tmp_path: Path):
    base = "https://central.example.org"
    app = app_factory(ROLE="central", CENTRAL_PUBLIC_URL=base,
                      GRIEVANCE_CONTACT="Oficina de Moyobamba, tel. 042 555 123")
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(app, client).login("coordinator")
    with app.test_request_context():
        from fieldapp.communities.models import Community
        from fieldapp.families.operations import create_family

        community = Community(code="C902", name="Paraíso", district="Moyobamba")
        db.session.add(community)
        db.session.flush()
        family = create_family({"head_given_names": "Elmer", "head_surname": "Chuquizuta",
                                "members_count": 5, "data_consent": True,
                                "community_id": community.id, "confirm_not_duplicate": True})
        db.session.commit()
        family_id = family.id
    received = date(2026, 11, 20)
    gid = _record(client, family_id, received_on=received.isoformat(),
                  description="Las cocinas mejoradas nunca llegaron.").json["id"]
    grievance = _grievance(app, gid)
    response = client.get(f"/print/grievances/{gid}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    pdf = tmp_path / "slip.pdf"
    pdf.write_bytes(response.data)
    text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())
    assert grievance.code in text
    assert "Respuesta a más tardar el 20 de diciembre de 2026" in text  # Spanish, 30 days
    assert "Oficina de Moyobamba, tel. 042 555 123" in text
    assert "cocinas mejoradas" not in text  # the complaint itself is not on the slip
    subprocess.run(["pdftoppm", "-r", "100", "-gray", "-singlefile", str(pdf),
                    str(tmp_path / "slip")], check=True)
    scanned = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "slip.pgm")],
                             capture_output=True, text=True, check=False).stdout.strip()
    assert scanned == f"{base}/grievance-status/{grievance.status_token}"
    client.post("/auth/logout")
    page = app.test_client().get(scanned.removeprefix(base))
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert grievance.code in body
    assert "20 de diciembre de 2026" in body
    for secret in ("Elmer", "Chuquizuta", "cocinas", "Paraíso", "Cocinas"):
        assert secret not in body


def test_the_form_works_offline_through_the_outbox(app, client, auth, family):
    """The tablet stores /grievances/new for the field, and its outbox replays the form with
    the family chosen in the form itself (the offline family picker), under its key."""
    auth.login("field_staff")
    pages = client.get("/pwa/pages").get_data(as_text=True)
    assert "/grievances/new" in pages
    assert "/grievances/" in pages
    key = str(uuid.uuid4())
    data = {"family": str(family), "received_on": _today().isoformat(),
            "channel": "assembly", "category": "other", "description": "Dicho en la asamblea.",
            "idempotency_key": key}
    first = client.post("/grievances/new", data=data, headers=JSON)
    again = client.post("/grievances/new", data=data, headers=JSON)  # a replay: one record
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert _grievance(app, first.json["id"]).family_id == family
    unknown = client.post("/grievances/new", headers=JSON,
                          data={**data, "family": str(uuid.uuid4()),
                                "idempotency_key": str(uuid.uuid4())})
    assert unknown.status_code == 422
    assert "family" in unknown.json["error"]["details"]["fields"]


def test_the_family_history_tells_each_step_in_words(app, client, auth, family):
    auth.user("field_staff", "pedro")
    auth.login("coordinator")
    gid = _record(client, family, category="boundary_dispute", channel="suggestion_box").json["id"]
    _confidential(client, family)
    _step(client, gid, "acknowledge", note="Se llamó a la familia.")
    page = client.get(f"/audit/families/{family}").get_data(as_text=True)
    assert "queja con acuse de recibo" in page
    assert "Conflicto de linderos" in page
    assert "buzón de sugerencias" in page
    assert "boundary_dispute" not in page
    assert "status_token" not in page
    assert "pidió dinero" not in page  # the confidential one is not in the family's history


def test_a_coordinator_named_by_full_name_cannot_open_it_either(app, client, auth, family):
    from fieldapp.auth.operations import create_user
    from tests.conftest import TEST_PASSWORD

    with app.app_context():
        create_user("rosa", "Rosa Quispe Mori", TEST_PASSWORD, "coordinator")
        create_user("ana", "Ana Tapullima", TEST_PASSWORD, "coordinator")
        db.session.commit()
    client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD})
    response = _record(client, family, category="staff_conduct", confidential="y",
                       staff_name="  rosa   QUISPE mori ", description="Trato injusto.")
    gid = response.json["id"]
    _step(client, gid, "acknowledge")
    choices = client.get(f"/grievances/{gid}").get_data(as_text=True)
    assert 'value="rosa"' not in choices  # not offered as its reviewer either
    assert 'value="ana"' in choices
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "rosa", "password": TEST_PASSWORD})
    assert client.get(f"/grievances/{gid}").status_code == 404
    assert _grievance(app, gid).code not in client.get(
        "/grievances/?view=all").get_data(as_text=True)


def test_field_staff_record_a_confidential_one_and_print_its_slip_only(app, client, auth,
                                                                       family):
    auth.user("field_staff", "pedro")
    auth.login("field_staff", "lucia")
    response = client.post(f"/grievances/new?family={family}", data={
        "received_on": _today().isoformat(), "channel": "in_person",
        "category": "staff_conduct", "confidential": "y", "staff_username": "pedro",
        "description": "El promotor Pedro pidió dinero.", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 302
    landing = client.get(response.headers["Location"])
    text = landing.get_data(as_text=True)
    assert landing.status_code == 200
    assert "Es confidencial" in text
    assert "pidió dinero" not in text
    gid = response.headers["Location"].split("/")[-2]
    assert client.get(f"/grievances/{gid}").status_code == 404
    assert client.get(f"/print/grievances/{gid}.pdf").status_code == 200
    auth.logout()
    auth.login("field_staff", "pedro")
    assert client.get(f"/grievances/{gid}/recorded").status_code == 404
    assert client.get(f"/print/grievances/{gid}.pdf").status_code == 404


def test_field_staff_see_the_grievances_of_their_communities(app, client, auth, make_community,
                                                             make_family):
    mine = make_community(code="C101", name="Alto Perú")
    other = make_community(code="C102", name="San Andrés")
    auth.login("coordinator")
    here = _record(client, make_family(community_id=mine)).json["id"]
    there = _record(client, make_family(community_id=other, head_surname="Tapullima")).json["id"]
    anonymous_there = _record(client, community=str(other)).json["id"]
    auth.logout()
    auth.login("field_staff", "lucia", communities=("C101",))
    assert client.get(f"/grievances/{here}").status_code == 200
    for gid in (there, anonymous_there):
        assert client.get(f"/grievances/{gid}").status_code == 404
        assert _step(client, gid, "acknowledge").status_code == 404
    listing = client.get("/grievances/?view=all").get_data(as_text=True)
    assert _grievance(app, here).code in listing
    assert _grievance(app, there).code not in listing
    assert _grievance(app, anonymous_there).code not in listing
    refused = _record(client, community=str(other))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "out_of_scope"
