"""Bad input: a table of malformed requests, hypothesis over the family form, CSRF.

No request a browser can send yields a 500; forms keep what was typed.
"""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.families.models import Family
from tests.conftest import TEST_PASSWORD

ZERO = "00000000-0000-0000-0000-000000000000"

MALFORMED = [
    ("GET", "/families/?page=-3", None, 200),
    ("GET", "/families/?page=abc", None, 200),
    ("GET", "/families/?page=999999", None, 200),
    ("GET", "/families/?community=not-a-uuid", None, 200),
    ("GET", "/families/?q=" + "%27%22%3C%3E" * 50, None, 200),
    ("GET", "/families/?q=%00%ff", None, 200),
    ("GET", f"/families/{ZERO}", None, 404),
    ("GET", "/families/not-a-uuid", None, 404),
    ("GET", f"/families/{ZERO}/edit", None, 404),
    ("POST", f"/families/{ZERO}/edit", {"head_surname": "x"}, 404),
    ("GET", f"/communities/{ZERO}/edit", None, 404),
    ("GET", f"/admin/users/{ZERO}/edit", None, 404),
    ("GET", "/no/such/page", None, 404),
    ("DELETE", "/families/", None, 405),
    ("POST", "/families/new", {"members_count": "1e309", "lat": "nan", "lon": "inf"}, 422),
    ("POST", "/families/new", {"idempotency_key": "<script>", "head_surname": "x"}, 422),
    ("POST", "/families/new", {"community_id": ["a", "b"], "dni": ["1", "2"]}, 422),
    ("POST", "/communities/new", {"code": "lower case!", "name": ""}, 422),
    ("POST", "/communities/new", {"code": "C1", "name": "x", "lat": "north"}, 422),
    ("POST", "/admin/users/new", {"username": "", "role": "emperor"}, 422),
    ("POST", "/auth/language/xx", {}, 302),
]


@pytest.mark.parametrize(("method", "url", "data", "status"), MALFORMED)
def test_malformed_requests_get_clear_answers(client, auth, method, url, data, status):
    auth.login("admin")
    response = client.open(url, method=method, data=data)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert "Traceback" not in html
    if status >= 400 and status != 422:
        assert 'data-error-code="' in html  # the friendly error page, in Spanish
    if status == 422:
        assert 'class="error"' in html


def test_json_clients_get_error_codes(client, auth):
    auth.login()
    response = client.get(f"/families/{ZERO}", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {"code": "not_found", "message": "No encontramos lo que buscaba."}
    }


def test_anonymous_json_client_gets_401(client):
    response = client.get("/families/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "login_required"


@pytest.fixture
def csrf_client(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from fieldapp.auth.operations import create_user
        from fieldapp.communities.models import Community

        create_user("ana", "Ana", TEST_PASSWORD, "field_staff")
        db.session.add(Community(code="C001", name="Comunidad"))
        db.session.commit()
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/auth/login").get_data(as_text=True)).group(1)
    client.post("/auth/login", data={"username": "ana", "password": TEST_PASSWORD,
                                     "csrf_token": token})
    return app, client


def test_missing_csrf_token_explains_and_saves_nothing(csrf_client):
    app, client = csrf_client
    response = client.post("/families/new", data={"head_given_names": "X", "head_surname": "Y"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "csrf_failed" in html
    assert "no se guardó nada" in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 0


def test_stale_csrf_token_is_refused(csrf_client):
    app, client = csrf_client
    response = client.post("/families/new", data={"csrf_token": "IjEyMyI.stale.token",
                                                   "head_given_names": "X"})
    assert response.status_code == 400
    assert "csrf_failed" in response.get_data(as_text=True)


def test_login_form_needs_csrf_too(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/auth/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400


def test_valid_csrf_token_is_accepted(csrf_client):
    app, client = csrf_client
    html = client.get("/families/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1)
    with app.app_context():
        from fieldapp.communities.models import Community

        community_id = db.session.execute(select(Community.id)).scalar_one()
    response = client.post("/families/new", data={
        "csrf_token": token, "idempotency_key": key, "community_id": str(community_id),
        "head_given_names": "Luz", "head_surname": "Cubas", "members_count": "2",
    })
    assert response.status_code == 302


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
numbers = st.one_of(texts, st.integers(-10**12, 10**12).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(str))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    given_names=texts, surname=texts, dni=st.one_of(texts, st.from_regex(r"\A\d{8}\Z")),
    members=numbers, phone=texts, lat=numbers, lon=numbers, plot=numbers, forest=numbers,
    coffee=numbers, notes=texts, consent=st.sampled_from(["", "y", "on", "no"]),
)
@example(given_names="", surname="\x00", dni="", members="", phone="", lat="", lon="", plot="",
         forest="", coffee="", notes="", consent="")  # NUL alone: dropped, nothing comes back
def test_family_form_never_fails_and_keeps_input(client, auth, app, make_community, given_names,
                                                 surname, dni, members, phone, lat, lon, plot,
                                                 forest, coffee, notes, consent):
    if not hasattr(app, "_community"):
        app._community = make_community()
        auth.login()
    data = {
        "community_id": str(app._community), "head_given_names": given_names,
        "head_surname": surname, "dni": dni, "members_count": members, "phone": phone,
        "lat": lat, "lon": lon, "plot_ha": plot, "forest_ha": forest, "coffee_ha": coffee,
        "notes": notes, "data_consent": consent, "idempotency_key": str(uuid.uuid4()),
    }
    response = client.post("/families/new", data=data)
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 422:
        html = response.get_data(as_text=True)
        assert 'class="error"' in html
        # What was typed comes back in the field, but NUL: the app drops it from every form
        # field (`fieldapp.forms.AppRequest`; no database text holds it).
        kept = surname.replace("\x00", "")
        if kept:
            tag = re.search(r'<input[^>]*name="head_surname"[^>]*>', html).group(0)
            assert f'value="{escape(kept)}"' in tag
    else:
        with app.app_context():
            family = db.session.execute(
                select(Family).order_by(Family.created_at.desc()).limit(1)
            ).scalar_one()
            assert family.members_count >= 1
            assert family.dni is None or re.fullmatch(r"\d{8}", family.dni)


PAGED_LISTS = ["/families/", "/trainings/", "/deliveries/", "/compliance/visits/",
               "/compliance/sanctions/", f"/audit/families/{ZERO}"]


@pytest.mark.parametrize("url", PAGED_LISTS)
def test_huge_page_number_is_a_clear_400(client, auth, make_family, url):
    """A page number beyond any 64-bit integer was a 500 (SQLite OverflowError, PostgreSQL
    bigint out of range); now a 400 naming the parameter."""
    if ZERO in url:
        url = url.replace(ZERO, str(make_family()))
    auth.login("admin")
    response = client.get(url + "?page=99999999999999999999",
                          headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_parameter"
    assert client.get(url + "?page=" + "9" * 400).status_code == 400
    assert client.get(url + "?page=2").status_code == 200


def test_huge_numbers_in_forms_are_field_errors(client, auth, app, make_community):
    """A 400-digit member count or catalogue position is a message next to the field."""
    auth.login("admin")
    response = client.post("/families/new", data={
        "community_id": str(make_community()), "head_given_names": "Ana",
        "head_surname": "Ríos", "members_count": "9" * 400})
    assert response.status_code == 422
    assert "Entre 1 y 50" in response.get_data(as_text=True)
    for kind, extra in (("commitments", {"text_es": "x", "text_en": "x"}),
                        ("benefits", {"name_es": "x", "name_en": "x", "unit_one_es": "u",
                                      "unit_other_es": "u", "category": "other"})):
        response = client.post(f"/agreements/catalogue/{kind}/new",
                               data={"code": "X1", "position": "9" * 400, **extra})
        assert response.status_code == 422, kind
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Family)) == 0


def test_hostile_integer_url_segment_is_404(app_factory):
    central = app_factory(ROLE="central")
    from cyclekit import login

    coordinator = login(central, "coordinator")
    assert coordinator.get("/nodes/conflicts/99999999999999999999").status_code == 404


def test_huge_number_typed_on_the_conflict_screen_is_a_field_error(app_factory):
    """A coordinator's combined value for an integer field goes through the same parser: 30
    digits are a message next to the value (was a 500, SQLite OverflowError)."""
    from cyclekit import login

    from fieldapp.models import utcnow
    from fieldapp.nodes.models import SYNC_TABLES

    central = app_factory(ROLE="central")
    with central.test_request_context():
        from fieldapp.communities.models import Community
        from fieldapp.families.operations import create_family

        community = Community(code="C100", name="Santa Rosa")
        db.session.add(community)
        db.session.flush()
        family = create_family({"community_id": community.id, "head_given_names": "Ana",
                                "head_surname": "Ríos", "members_count": 3})
        db.session.flush()
        conflict_id = db.session.execute(SYNC_TABLES.conflicts.insert().values(
            kind="field", table_name="families", row_id=family.id, field="members_count",
            central_value=3, node_value=4, status="open", created_at=utcnow(),
            updated_at=utcnow())).inserted_primary_key[0]
        db.session.commit()
    coordinator = login(central, "coordinator")
    response = coordinator.post(f"/nodes/conflicts/{conflict_id}",
                                data={"choice": "other", "value": "9" * 30})
    assert response.status_code == 422
    assert coordinator.post(f"/nodes/conflicts/{conflict_id}",
                            data={"choice": "other", "value": "5"}).status_code == 302


def test_dashboard_ignores_query_arguments_that_are_not_filters(app_factory):
    """``?fmt=x`` or ``?name=x`` on the dashboard clashed with its export links' own
    arguments (a 500); they are not part of the selection the links carry."""
    from cyclekit import login

    coordinator = login(app_factory(ROLE="central"), "coordinator")
    response = coordinator.get("/dashboard/?fmt=x&name=y&to=2026-05")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/dashboard/export/community_summary.csv?to=2026-05" in html
