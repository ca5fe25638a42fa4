"""Family list, search, page, registration and editing through HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from fieldapp.audit.models import AuditEntry
from fieldapp.extensions import db
from fieldapp.families.models import Family


def _form(community_id, **overrides):
    data = {
        "community_id": str(community_id),
        "head_given_names": "Segundo",
        "head_surname": "Chuquizuta Peña",
        "dni": "45678912",
        "members_count": "5",
        "phone": "942 123 456",
        "lat": "-5.7421",
        "lon": "-77.5093",
        "plot_name": "La Loma",
        "plot_ha": "6.5",
        "forest_ha": "2.5",
        "coffee_ha": "3",
        "data_consent": "y",
        "notes": "Parcela junto a la quebrada.",
        "idempotency_key": "0b7f0a64-5d8f-4a0e-9a43-2f3c1f0e9a11",
    }
    data.update(overrides)
    return data


def test_register_family(client, auth, app, make_community):
    community_id = make_community(name="Nueva Esperanza")
    auth.login()
    response = client.post("/families/new", data=_form(community_id))
    assert response.status_code == 302
    with app.app_context():
        family = db.session.execute(select(Family)).scalar_one()
        assert family.code == "AM-TST-0001"
        assert family.head_name == "Segundo Chuquizuta Peña"
        assert family.origin_node == app.config["NODE_ID"]
        assert family.version == 1
        assert family.voided is False
        assert family.id.version == 7  # UUIDv7, made where the record is created
        assert family.consent_at is not None
        entry = db.session.execute(select(AuditEntry)).scalar_one()
        assert (entry.action, entry.family_id) == ("create", family.id)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Segundo Chuquizuta Peña" in page
    assert "Nueva Esperanza" in page
    assert "AM-TST-0001" in page


def test_double_submit_creates_one_family(client, auth, app, make_community):
    community_id = make_community()
    auth.login()
    first = client.post("/families/new", data=_form(community_id))
    second = client.post("/families/new", data=_form(community_id))
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 1


def test_same_key_with_other_data_is_refused(client, auth, app, make_community):
    community_id = make_community()
    auth.login()
    client.post("/families/new", data=_form(community_id))
    response = client.post("/families/new", data=_form(community_id, head_surname="Otro"))
    assert response.status_code == 409
    assert "idempotency_key_reused" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 1


def test_codes_continue_per_node(client, auth, app, make_community):
    community_id = make_community()
    auth.login()
    for n in range(3):
        client.post("/families/new", data=_form(community_id, dni=f"4000000{n}",
                                                idempotency_key=f"key-0000000{n}"))
    with app.app_context():
        codes = db.session.execute(select(Family.code).order_by(Family.code)).scalars().all()
    assert codes == ["AM-TST-0001", "AM-TST-0002", "AM-TST-0003"]


INVALID = [
    ({"head_given_names": ""}, "head_given_names"),
    ({"dni": "1234567"}, "dni"),
    ({"dni": "1234567a"}, "dni"),
    ({"members_count": "0"}, "members_count"),
    ({"members_count": "muchos"}, "members_count"),
    ({"lat": "-95"}, "lat"),
    ({"lon": "200"}, "lon"),
    ({"plot_ha": "-1"}, "plot_ha"),
    ({"forest_ha": "5", "coffee_ha": "5", "plot_ha": "6"}, "forest_ha"),
    ({"phone": "call me"}, "phone"),
    ({"community_id": "not-a-uuid"}, "community_id"),
    ({"community_id": "00000000-0000-0000-0000-000000000000"}, "community_id"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID)
def test_invalid_family_keeps_input_and_marks_the_field(client, auth, app, make_community,
                                                        overrides, field):
    community_id = make_community()
    auth.login()
    response = client.post("/families/new", data={**_form(community_id), **overrides})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-err"' in html
    assert 'value="Chuquizuta Peña"' in html or overrides.get("head_surname") is not None
    assert "Parcela junto a la quebrada." in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 0


def test_every_error_of_the_family_form_shows_on_the_first_submit(client, auth, app,
                                                                  make_family, make_community):
    """A bad DNI, forest and coffee over the plot, no members: all at once, for a person and
    for the tablet's outbox (JSON); then a DNI of another family with the plot still wrong."""
    community_id = make_community()
    auth.login()
    bad = {"dni": "1234567", "forest_ha": "5", "coffee_ha": "5", "plot_ha": "6",
           "members_count": "0"}
    html = client.post("/families/new", data={**_form(community_id), **bad})
    assert html.status_code == 422
    page = html.get_data(as_text=True)
    for field in ("dni", "forest_ha", "members_count"):
        assert f'id="{field}-err"' in page, field
    answer = client.post("/families/new", data={**_form(community_id), **bad},
                         headers={"Accept": "application/json"})
    assert set(answer.get_json()["error"]["details"]["fields"]) == {
        "dni", "forest_ha", "members_count"}

    make_family(dni="45678912")
    page = client.post("/families/new", data={**_form(community_id), "plot_ha": "1"}).get_data(
        as_text=True)
    assert "AM-TST-0001" in page  # the DNI of another family
    assert 'id="forest_ha-err"' in page  # and the plot, in the same answer
    with app.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 1


def test_duplicate_dni_is_refused_with_the_other_family(client, auth, make_family, make_community):
    make_family(dni="45678912")
    auth.login()
    response = client.post("/families/new", data=_form(make_community()))
    assert response.status_code == 422
    assert "AM-TST-0001" in response.get_data(as_text=True)


def test_dni_held_by_two_families_after_sync_is_named_not_a_500(client, auth, app, make_family,
                                                                make_community):
    """Two nodes registered one DNI before they synced: editing either family, or registering a
    third with that DNI, names the families holding it next to the DNI field (was a 500,
    ``MultipleResultsFound``)."""
    community_id = make_community()
    first = make_family(community_id=community_id, dni="45678912", head_surname="Uno Primero")
    second = make_family(community_id=community_id, head_surname="Dos Segundo")
    with app.app_context():  # as the sync engine writes it: no form in the way
        db.session.get(Family, second).dni = "45678912"
        db.session.commit()
        codes = {f.id: f.code for f in db.session.execute(select(Family)).scalars()}
    auth.login()
    response = client.post(f"/families/{first}/edit",
                           data=_form(community_id, head_surname="Uno Primero"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert codes[second] in html
    response = client.post("/families/new", data=_form(community_id),
                           headers={"Accept": "application/json"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert codes[first] in error["details"]["fields"]["dni"]
    assert codes[second] in error["details"]["fields"]["dni"]
    assert "Dos Segundo" in error["details"]["fields"]["dni"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Family)) == 2


def test_edit_family_records_what_changed(client, auth, app, make_family):
    family_id = make_family(dni="11112222")
    auth.login()
    form = client.get(f"/families/{family_id}/edit").get_data(as_text=True)
    assert 'value="11112222"' in form
    with app.app_context():
        community_id = db.session.get(Family, family_id).community_id
    response = client.post(f"/families/{family_id}/edit", data={
        "community_id": str(community_id), "head_given_names": "María",
        "head_surname": "Huamán Tuanama",
        "dni": "11112222", "members_count": "6",
    })
    assert response.status_code == 302
    with app.app_context():
        family = db.session.get(Family, family_id)
        assert family.members_count == 6
        assert family.version == 2
        entry = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "update")
        ).scalar_one()
        # Only what changed is kept (the unticked consent box withdrew consent).
        assert entry.before == {"members_count": 4, "data_consent": True}
        assert entry.after == {"members_count": 6, "data_consent": False}
        assert entry.username == "test-field-staff"


def test_edit_with_errors_keeps_input(client, auth, app, make_family):
    family_id = make_family()
    auth.login()
    with app.app_context():
        community_id = db.session.get(Family, family_id).community_id
    response = client.post(f"/families/{family_id}/edit", data={
        "community_id": str(community_id), "head_given_names": "Nueva", "head_surname": "",
        "members_count": "3",
    })
    assert response.status_code == 422
    assert 'value="Nueva"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Family, family_id).head_given_names == "María"


def test_search_by_name_code_and_dni(demo_app):
    from tests.conftest import AuthActions

    client = demo_app.test_client()
    AuthActions(demo_app, client).login("coordinator")
    with demo_app.app_context():
        family = db.session.execute(
            select(Family).where(Family.dni.is_not(None)).order_by(Family.code).limit(1)
        ).scalar_one()
        total = db.session.scalar(select(func.count(Family.id)))
    for q in (family.dni, family.code, family.head_surname.split()[0], family.head_given_names):
        html = client.get("/families/", query_string={"q": q}).get_data(as_text=True)
        assert family.code in html, q
    html = client.get("/families/").get_data(as_text=True)
    assert f"{total} familias" in html
    assert "Página 1 de" in html
    # Page 2 shows other families than page 1.
    page2 = client.get("/families/", query_string={"page": 2}).get_data(as_text=True)
    assert page2 != html


def test_filter_by_community(demo_app):
    from fieldapp.communities.models import Community
    from tests.conftest import AuthActions

    client = demo_app.test_client()
    AuthActions(demo_app, client).login("coordinator")
    with demo_app.app_context():
        community = db.session.execute(select(Community).order_by(Community.code)).scalars().first()
        inside = db.session.scalar(
            select(func.count(Family.id)).where(Family.community_id == community.id))
    html = client.get("/families/", query_string={"community": str(community.id)}
                      ).get_data(as_text=True)
    assert f"{inside} familia" in html


def test_field_staff_sees_only_their_communities(client, auth, app, make_family, make_community):
    mine = make_community(code="C101", name="Mi Comunidad")
    other = make_community(code="C102", name="Otra Comunidad")
    in_mine = make_family(community_id=mine, head_surname="Propia")
    in_other = make_family(community_id=other, head_surname="Ajena")
    auth.login("field_staff", "limited", communities=("C101",))
    html = client.get("/families/").get_data(as_text=True)
    assert "Propia" in html
    assert "Ajena" not in html
    assert client.get(f"/families/{in_mine}").status_code == 200
    assert client.get(f"/families/{in_other}").status_code == 403
    response = client.post("/families/new", data=_form(other, idempotency_key="key-other-1"))
    assert response.status_code in (403, 422)


def test_unknown_family_is_a_friendly_404(client, auth):
    auth.login()
    response = client.get("/families/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "No encontramos" in response.get_data(as_text=True)


def test_family_form_has_geolocation_button(client, auth, make_community):
    make_community()
    auth.login()
    html = client.get("/families/new").get_data(as_text=True)
    assert 'data-geo-lat="lat"' in html
    assert 'data-geo-lon="lon"' in html


def test_search_ignores_accents_case_and_word_order(client, auth, make_family):
    make_family(head_given_names="María Ñusta", head_surname="Huamán Peña", dni="70112233")
    make_family(head_given_names="José", head_surname="Quispe Rojas", dni="70445566")
    auth.login()
    for q in ("huaman", "HUAMÁN", "pena maria", "ñusta", "nusta", "7011", "AM-TST-0001"):
        html = client.get("/families/", query_string={"q": q}).get_data(as_text=True)
        assert "Huamán Peña" in html, q
        assert "Quispe" not in html, q
    html = client.get("/families/", query_string={"q": "100%_"}).get_data(as_text=True)
    assert "Ninguna familia coincide." in html


def test_concurrent_registrations_get_distinct_codes(app, auth, make_community):
    """Two tablets registering at once on one node never get the same code."""
    import threading

    community_id = make_community()
    auth.user("field_staff", "ana")
    statuses: list[int] = []

    def tablet(n: int) -> None:
        client = app.test_client()
        client.post("/auth/login", data={"username": "ana", "password": "correct horse battery"})
        for i in range(8):
            response = client.post("/families/new", data=_form(
                community_id, dni=f"5{n}00000{i}", idempotency_key=f"key-{n}-{i}-0000"))
            statuses.append(response.status_code)

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 24
    with app.app_context():
        codes = db.session.execute(select(Family.code)).scalars().all()
    assert len(set(codes)) == 24


def test_family_page_queries_do_not_grow_with_its_records(demo_app):
    """Every family page of the demo in a bounded number of statements, whatever the family
    holds (agreement versions, promised benefit types, deliveries, visits, sanctions)."""
    from sqlalchemy import event

    from fieldapp.agreements.models import AgreementBenefit
    from tests.conftest import AuthActions

    client = demo_app.test_client()
    AuthActions(demo_app, client).login("coordinator")
    with demo_app.app_context():
        family_ids = db.session.execute(
            select(Family.id).where(Family.voided.is_(False))).scalars().all()
        most_promised = db.session.execute(
            select(func.count(func.distinct(AgreementBenefit.benefit_type_id)))
            .group_by(AgreementBenefit.agreement_id)
            .order_by(func.count(func.distinct(AgreementBenefit.benefit_type_id)).desc())
            .limit(1)).scalar_one()
        engine = db.engine
    assert most_promised >= 5  # the demo promises several benefits: an N+1 would show
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        per_page = {}
        for family_id in family_ids:
            statements.clear()
            response = client.get(f"/families/{family_id}")
            assert response.status_code == 200
            per_page[family_id] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Login, the family, scope, the badge (2), agreements (1), the four sections and the
    # plots' and photos' sections (one query each): 20 at most; a lazy load per benefit type,
    # delivery, visit, plot or photo would pass it.
    assert max(per_page.values()) <= 20, sorted(per_page.values())[-5:]


def test_registration_accepts_only_a_community_the_list_offers(client, auth, app,
                                                               make_community):
    """Saving checks the chosen community alone; a refused form lists every community again."""
    active = make_community(name="Comunidad Activa")
    closed = make_community(name="Comunidad Cerrada", voided=True)
    auth.login()
    for value in (str(closed), active.hex, "not-a-uuid"):  # voided; the id not as offered
        response = client.post("/families/new", data={**_form(active), "community_id": value,
                                                      "idempotency_key": f"k-{value}"})
        assert response.status_code == 422, value
        page = response.get_data(as_text=True)
        assert "Comunidad Activa" in page  # the full list, to choose again
        assert "Comunidad Cerrada" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Family)) == 0
    assert client.post("/families/new", data=_form(active)).status_code == 302


def test_family_page_renders_the_sections_its_view_gathers(app, client, auth, make_family):
    """Each domain registers its section (families/sections.py); the view gathers their data
    in order and the page only renders it, so a new section needs no change to families."""
    from jinja2 import ChoiceLoader, DictLoader

    from fieldapp.families.sections import register_section

    family_id = make_family()
    gathered = []

    def gather(page):
        gathered.append(page.family.id)
        return {"code": page.family.code}

    register_section(app, "extra", gather, "test/_extra.html", 15, title="Extra section")
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"test/_extra.html": "<p class=extra>{{ section.data.code }}</p>"}),
        app.jinja_env.loader])
    auth.login()
    page = client.get(f"/families/{family_id}").get_data(as_text=True)
    assert gathered == [family_id]
    cards = re.findall(r'<section class="card" id="(\w+)"><h2>([^<]+)</h2>', page)
    assert [name for name, _title in cards] == [
        "agreements", "extra", "attendance", "deliveries", "plots", "visits", "media",
        "grievances"]
    assert ("extra", "Extra section") in cards
    assert ("visits", "Visitas de monitoreo") in cards  # the domains' titles, translated
    with app.app_context():
        code = db.session.get(Family, family_id).code
    assert f"<p class=extra>{code}</p>" in page
