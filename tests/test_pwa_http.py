"""The PWA's server side through HTTP: manifest, service worker, probe, offline reference data,
and create forms answering programs (the outbox) in JSON."""

from __future__ import annotations

import io
import json
import re
import uuid
from html import unescape
from typing import Any

from PIL import Image
from sqlalchemy import func, select


def _config(html: str) -> dict[str, Any]:
    match = re.search(r"""<div id="pwa-config" hidden data-config='(.*?)'></div>""", html, re.S)
    assert match, "no #pwa-config block"
    return json.loads(unescape(match.group(1)))


def test_manifest_is_installable_in_spanish(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200
    assert r.mimetype == "application/manifest+json"
    m = json.loads(r.data)
    assert m["lang"] == "es"
    assert m["display"] == "standalone"
    assert m["start_url"] == "/"
    assert m["scope"] == "/"
    assert m["short_name"]
    assert m["name"]
    assert m["theme_color"]
    assert m["background_color"]
    sizes = {(i["sizes"], i["purpose"]) for i in m["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"),
            ("512x512", "maskable")} <= sizes
    for icon in m["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200
        image = Image.open(io.BytesIO(png.data))
        assert image.format == "PNG"
        assert f"{image.width}x{image.height}" == icon["sizes"]
        png.close()


def test_service_worker_scope_version_and_precache(app):
    client = app.test_client()
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r.mimetype == "application/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in r.headers["Cache-Control"]
    body = r.get_data(as_text=True)
    config = json.loads(body.split("\n", 1)[0].removeprefix("self.FIELDAPP = ").rstrip(";"))
    assert "/offline" in config["precache"]
    assert "/static/css/app.css" in config["precache"]
    assert "/static/js/outbox-core.js" in config["precache"]
    assert "/static/js/sw.js" not in config["precache"]
    assert "addEventListener(\"fetch\"" in body

    app.config["PWA_VERSION_SALT"] = "another deployment"
    again = json.loads(
        client.get("/sw.js").get_data(as_text=True).split("\n", 1)[0]
        .removeprefix("self.FIELDAPP = ").rstrip(";")
    )
    assert again["version"] != config["version"]


def test_shell_is_public_and_holds_no_user(client, auth):
    auth.login()
    for url in ("/sw.js", "/manifest.webmanifest", "/offline"):
        r = client.get(url)
        assert r.status_code == 200, url
    html = client.get("/offline").get_data(as_text=True)
    assert "test-field-staff" not in html
    assert _config(html)["user"] == ""
    auth.logout()
    for url in ("/sw.js", "/manifest.webmanifest", "/offline"):
        assert client.get(url).status_code == 200, url


def test_pages_say_whose_they_are(client, auth):
    assert client.get("/auth/login").headers["X-Fieldapp-User"] == ""
    auth.login()
    r = client.get("/families/new")
    assert r.headers["X-Fieldapp-User"] == "test-field-staff"
    config = _config(r.get_data(as_text=True))
    assert config["user"] == "test-field-staff"
    assert config["strings"]["offline"] == "Sin conexión"
    pages = client.get(config["pages"]).json
    assert pages["user"] == "test-field-staff"
    for url in ("/", "/families/new", "/deliveries/new", "/pwa/outbox", "/pwa/scan"):
        assert url in pages["pages"]


def test_pages_with_a_one_time_message_are_not_stored(client, auth):
    welcome = auth.login()
    page = client.get(welcome.headers["Location"])  # "Welcome, ..." is shown once
    assert "flash" in page.get_data(as_text=True)
    assert page.headers["X-Fieldapp-Transient"] == "1"
    again = client.get(welcome.headers["Location"])
    assert "X-Fieldapp-Transient" not in again.headers


def test_ping_gives_a_csrf_token_only_to_a_session(client, auth):
    r = client.get("/pwa/ping")
    assert r.json["user"] is None
    assert "csrf" not in r.json
    assert r.headers["Cache-Control"] == "no-store"
    auth.login()
    r = client.get("/pwa/ping")
    assert r.json["user"] == "test-field-staff"
    assert r.json["csrf"]


def test_reference_data_is_limited_to_the_users_communities(app, client, auth, make_community,
                                                            make_family):
    mine = make_community(code="MIA")
    other = make_community(code="OTR")
    kept = make_family(community_id=mine, head_surname="Dentro")
    make_family(community_id=other, head_surname="Fuera")
    assert client.get("/pwa/data/", headers={"Accept": "application/json"}).status_code == 401
    auth.login("field_staff", "limited", communities=("MIA",))

    index = client.get("/pwa/data/").json
    assert index["datasets"]["families"]["count"] == 1
    assert index["datasets"]["communities"]["count"] == 1
    page = client.get("/pwa/data/families").json
    assert page["columns"][0] == "id"
    assert [row[0] for row in page["rows"]] == [str(kept)]
    assert page["next"] is None

    stamp = index["datasets"]["families"]["stamp"]
    make_family(community_id=other, head_surname="Otra fuera")
    assert client.get("/pwa/data/").json["datasets"]["families"]["stamp"] == stamp
    make_family(community_id=mine, head_surname="Otra dentro")
    assert client.get("/pwa/data/").json["datasets"]["families"]["stamp"] != stamp


def test_reference_data_pages_follow_the_cursor(client, auth, make_community, make_family):
    community = make_community()
    made = {str(make_family(community_id=community, head_surname=f"F{i}")) for i in range(5)}
    auth.login("coordinator")
    seen: list[str] = []
    after = None
    while True:
        query = {"limit": 2, "after": after or ""}
        page = client.get("/pwa/data/families", query_string=query).json
        seen += [row[0] for row in page["rows"]]
        after = page["next"]
        if not after:
            break
    assert sorted(seen) == sorted(made)
    assert client.get("/pwa/data/unknown").status_code == 404
    bad = client.get("/pwa/data/families?after=nonsense", headers={"Accept": "application/json"})
    assert bad.status_code == 422
    assert bad.json["error"]["code"] == "invalid"


def _family_payload(community_id: Any, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "community_id": str(community_id),
        "head_given_names": "Rosa",
        "head_surname": "Tapullima",
        "members_count": "3",
        "idempotency_key": key,
        **extra,
    }


def test_family_create_answers_the_outbox_in_json(client, auth, make_community):
    community = make_community()
    auth.login()
    accept = {"Accept": "application/json"}
    data = _family_payload(community, "key-00000001")
    first = client.post("/families/new", data=data, headers=accept)
    assert first.status_code == 201
    assert first.json["url"] == f"/families/{first.json['id']}"
    again = client.post("/families/new", data=data, headers=accept)
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]

    changed = client.post("/families/new", data={**data, "head_surname": "Otro"}, headers=accept)
    assert changed.status_code == 409
    assert changed.json["error"]["code"] == "idempotency_key_reused"

    bad = client.post("/families/new", data=_family_payload(community, "key-00000002", dni="12"),
                      headers=accept)
    assert bad.status_code == 422
    assert bad.json["error"]["code"] == "invalid"
    assert "8 dígitos" in bad.json["error"]["details"]["fields"]["dni"]

    # The same family a second time (another key): people see the possible-duplicate warning;
    # once confirmed, they still get the redirect.
    html = client.post("/families/new", data=_family_payload(community, "key-00000003"))
    assert html.status_code == 422
    html = client.post("/families/new", data=_family_payload(
        community, "key-00000003", confirm_not_duplicate="y"))
    assert html.status_code == 302


def test_family_create_json_needs_a_session(client, make_community):
    community = make_community()
    r = client.post("/families/new", data=_family_payload(community, "key-00000009"),
                    headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert r.json["error"]["code"] == "login_required"


def test_stored_pages_include_sessions_and_drafts_of_the_users_scope(app, client, auth,
                                                                    make_community, make_family):
    from datetime import timedelta

    from fieldapp.agreements.models import Agreement
    from fieldapp.extensions import db
    from fieldapp.submissions import local_today
    from fieldapp.trainings.models import TrainingSession

    mine, other = make_community(code="MIA"), make_community(code="OTR")
    family = make_family(community_id=mine)
    with app.test_request_context():
        today = local_today()

        def session(community, days):
            row = TrainingSession(code=f"T-{community}-{days}", held_on=today + timedelta(days),
                                  topic="Poda", community_id=community, trainer_name="Ana",
                                  duration_hours=2)
            db.session.add(row)
            return row

        soon, old, elsewhere = session(mine, 3), session(mine, -90), session(other, 0)
        draft = Agreement(number="AM-2026-TST-0099", family_id=family, year=today.year,
                          period_start=today, period_end=today + timedelta(days=365))
        db.session.add(draft)
        db.session.commit()
        ids = {name: str(row.id) for name, row in
               [("soon", soon), ("old", old), ("elsewhere", elsewhere), ("draft", draft)]}
    auth.login("field_staff", "limited", communities=("MIA",))
    pages = client.get("/pwa/pages").json["pages"]
    assert f"/trainings/{ids['soon']}" in pages
    assert f"/trainings/{ids['old']}" not in pages
    assert f"/trainings/{ids['elsewhere']}" not in pages
    assert f"/agreements/{ids['draft']}/sign" in pages


def test_delivery_form_without_a_family_chooses_it_on_the_page(client, auth):
    auth.login()
    html = client.get("/deliveries/new").get_data(as_text=True)
    assert 'data-family-picker="1"' in html
    assert "no prometido" not in html  # nothing is promised before a family is chosen
    r = client.post("/deliveries/new", data={"idempotency_key": "key-00000010"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 422
    assert "family_id" in r.json["error"]["details"]["fields"]


def test_visit_form_without_a_family_builds_its_rows_on_the_tablet(client, auth):
    auth.login()
    html = client.get("/compliance/visits/new").get_data(as_text=True)
    assert 'data-family-picker="1"' in html
    assert "data-visit-offline" in html
    assert 'name="result___CID__"' in html  # the row the tablet fills per commitment
    assert "visit-offline.js" in html
    r = client.post("/compliance/visits/new", data={"idempotency_key": "key-00000011"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 422
    assert r.json["error"]["message"] == "Elija la familia."


def test_the_offline_family_card_shows_statuses_in_the_users_language(client, auth):
    """The page scripts get the label table (fieldapp/labels.py) and show a stored agreement's
    status through it: "AM-2026-0001 (activo)", never "(active)"."""
    from pathlib import Path

    auth.login()
    config = _config(client.get("/families/").get_data(as_text=True))
    assert config["labels"]["agreement_status"]["active"] == "activo"
    assert config["labels"]["agreement_kind"]["amendment"] == "adenda"
    assert config["timezone"] == "America/Lima"
    script = (Path(__file__).resolve().parent.parent / "static/js/families-offline.js").read_text()
    assert 'label("agreement_status", a.status)' in script
    assert '" (" + a.status + ")"' not in script


# -- records made offline: ids the tablet chose, checked by the node --------------------------
def test_a_family_registered_offline_keeps_the_id_the_tablet_gave_it(client, auth,
                                                                      make_community):
    community = make_community()
    auth.login()
    accept = {"Accept": "application/json"}
    chosen = str(uuid.uuid4())
    data = _family_payload(community, "key-00000021", record_id=chosen)
    first = client.post("/families/new", data=data, headers=accept)
    assert first.status_code == 201
    assert first.json["id"] == chosen
    replay = client.post("/families/new", data=data, headers=accept)  # the response was lost
    assert replay.status_code == 200
    assert replay.json["id"] == chosen

    # Another submission claiming the same id: refused, never an overwrite.
    taken = client.post("/families/new", data=_family_payload(
        community, "key-00000022", record_id=chosen, head_surname="Otra",
        confirm_not_duplicate="y"), headers=accept)
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "record_id_taken"
    assert "Nada se guardó" in taken.json["error"]["message"]

    for bad in ("not-a-uuid", chosen.upper(), "00000000-0000-0000-0000-000000000000",
                chosen.replace("-", "")):
        r = client.post("/families/new", data=_family_payload(
            community, f"key-{uuid.uuid4()}", record_id=bad, head_surname="Mal",
            confirm_not_duplicate="y"), headers=accept)
        assert r.status_code == 422, bad
        assert "record_id" in r.json["error"]["details"]["fields"]
    from fieldapp.extensions import db
    from fieldapp.families.models import Family

    with client.application.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 1


def test_a_draft_made_offline_names_its_family_and_its_signature_names_the_draft(
        app, client, auth, make_community):
    from cyclekit import draft_form, seed, sign_form

    from fieldapp.agreements.models import Agreement
    from fieldapp.extensions import db
    from fieldapp.families.models import Family

    seed(app)
    auth.login()
    accept = {"Accept": "application/json"}
    community = make_community()
    family_id, agreement_id = str(uuid.uuid4()), str(uuid.uuid4())
    draft = draft_form(app, uuid.UUID(family_id), record_id=agreement_id,
                       idempotency_key="key-00000031")

    # The family's item was refused (or not sent yet): the draft is refused, nothing made, and
    # the reason says what to do (the tablet holds it until the family is accepted).
    early = client.post("/agreements/new", data=draft, headers=accept)
    assert early.status_code == 422
    assert "no está en el nodo" in early.json["error"]["details"]["fields"]["family_id"]

    r = client.post("/families/new", data=_family_payload(community, "key-00000032",
                                                          record_id=family_id), headers=accept)
    assert r.json["id"] == family_id
    first = client.post("/agreements/new", data=draft, headers=accept)  # the same key again
    assert first.status_code == 201
    assert first.json["id"] == agreement_id
    assert client.post("/agreements/new", data=draft, headers=accept).status_code == 200

    signed = client.post(f"/agreements/{agreement_id}/sign",
                         data=sign_form(idempotency_key="key-00000033"), headers=accept)
    assert signed.status_code == 201
    with app.app_context():
        agreement = db.session.get(Agreement, uuid.UUID(agreement_id))
        assert agreement.family_id == uuid.UUID(family_id)
        assert agreement.status == "signed"
        assert db.session.scalar(select(func.count(Agreement.id))) == 1
        assert db.session.get(Family, uuid.UUID(family_id)) is not None

    # A draft claiming the id of another record of its table is refused.
    again = client.post("/agreements/new", data=draft_form(
        app, uuid.UUID(family_id), record_id=agreement_id, idempotency_key="key-00000034",
        period_start="2031-01-01", period_end="2031-12-31"), headers=accept)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "record_id_taken"


def test_the_draft_and_sign_pages_are_stored_for_offline_use(app, client, auth, make_family):
    from cyclekit import draft_form, seed

    seed(app)
    auth.login()
    pages = client.get("/pwa/pages").json["pages"]
    assert "/agreements/new" in pages
    assert "/agreements/sign" in pages

    html = client.get("/agreements/new").get_data(as_text=True)
    assert 'data-outbox="agreement"' in html
    assert 'data-family-picker="1"' in html
    assert 'name="record_id"' in html
    assert re.search(r'<input checked[^>]*name="starts_on_signing"', html)
    assert "data-outbox-next=\"/agreements/sign?draft={record}\"" in html

    sign = client.get("/agreements/sign").get_data(as_text=True)
    assert "data-offline-sign" in sign
    assert "agreement-offline.js" in sign
    # Activation stays a coordinator's act on the node: the page says so.
    assert "un coordinador activa el acuerdo en el nodo" in sign

    family = make_family()
    r = client.post("/agreements/new", data=draft_form(app, family),
                    headers={"Accept": "application/json"})
    there = client.get(f"/agreements/sign?draft={r.json['id']}")
    assert there.status_code == 302
    assert there.headers["Location"].endswith(f"/agreements/{r.json['id']}/sign")


def test_central_shows_one_status_badge_with_one_story(app_factory):
    """On central, a coordinator's top bar has one badge: connection, outbox, then the
    conflicts between nodes (the nodes' screens are in the menu), never a second pill."""
    from cyclekit import login

    central = app_factory(ROLE="central")
    client = login(central, "coordinator")
    html = client.get("/families/").get_data(as_text=True)
    assert html.count('class="netbadge"') == 1
    assert html.count('id="sync-badge"') == 1
    badge = html[html.index('id="pwa-badge"'):]
    badge = badge[:badge.index("</a>")]
    assert "sin conflictos entre nodos" in badge
    nav = html[html.index('class="mainnav"'):html.index("</nav>")]
    assert 'href="/nodes/">Nodos</a>' in nav
