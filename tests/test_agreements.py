"""Agreements through HTTP: drafts, signing (pad and paper), the frozen hash, status machine,
amendments and renewals, catalogues, roles, idempotent double submits, both languages."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from cyclekit import (
    SIGNATURE,
    agreement_in_state,
    catalogue,
    data_url,
    draft_form,
    get_agreement,
    login,
    png_bytes,
    seed,
    sign_form,
)
from sqlalchemy import select

from fieldapp.extensions import db

JSON = {"Accept": "application/json"}


@pytest.fixture
def family(app, make_family):
    seed(app)
    return make_family(dni="41234567")


@pytest.fixture
def staff(app):
    return login(app, "field_staff")


@pytest.fixture
def coordinator(app):
    return login(app, "coordinator")


def _draft(app, client, family_id, **overrides) -> uuid.UUID:
    r = client.post("/agreements/new", data=draft_form(app, family_id, **overrides), headers=JSON)
    assert r.status_code == 201, r.get_data(as_text=True)
    return uuid.UUID(r.get_json()["id"])


def _signed(app, client, family_id) -> uuid.UUID:
    agreement_id = _draft(app, client, family_id)
    r = client.post(f"/agreements/{agreement_id}/sign", data=sign_form())
    assert r.status_code == 302
    return agreement_id


# -- drafts ------------------------------------------------------------------------------------
def test_after_signing_the_next_step_is_explicit(app, staff, coordinator, family):
    agreement_id = _draft(app, staff, family)
    r = staff.post(f"/agreements/{agreement_id}/sign", data=sign_form(), follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Siguiente paso: un coordinador lo activa" in page  # the message after signing
    assert 'id="next-step"' in page
    assert "Los beneficios se pueden entregar desde el día en que esté activo" in page
    assert "Activarlo ahora" not in page  # field staff cannot activate
    assert "Activarlo ahora" in coordinator.get(f"/agreements/{agreement_id}").get_data(
        as_text=True)
    coordinator.post(f"/agreements/{agreement_id}/status", data={"to": "active"})
    assert 'id="next-step"' not in staff.get(f"/agreements/{agreement_id}").get_data(
        as_text=True)


def test_new_agreement_period_starts_on_the_signing_day_never_on_1_january(
        app, staff, family, monkeypatch):
    from datetime import date

    import fieldapp.agreements.views as views

    monkeypatch.setattr(views, "local_today", lambda: date(2026, 11, 20))
    page = staff.get(f"/agreements/new?family={family}").get_data(as_text=True)
    assert 'value="2026-11-20"' in page
    assert 'value="2027-11-19"' in page
    assert "2026-01-01" not in page
    # The form says what the printed copy will say.
    assert "El acuerdo impreso dirá: vigente del 20 nov. 2026 al 19 nov. 2027" in page

    app.config["AGREEMENT_CYCLE_START"] = "04-01"  # a program with a yearly cycle from April
    page = staff.get(f"/agreements/new?family={family}").get_data(as_text=True)
    assert 'value="2027-04-01"' in page
    assert 'value="2028-03-31"' in page


def test_a_draft_signed_on_a_later_day_starts_on_its_signing_day(app, staff, family):
    """Drafted with the form's default (from its day), signed three days later: the printed
    period starts on the signing day, for the same length; a period typed on purpose (box
    unticked) is signed as drafted."""
    from datetime import timedelta

    from fieldapp.submissions import local_today

    with app.test_request_context():
        today = local_today()
    drafted = today - timedelta(days=3)
    end = drafted + timedelta(days=364)
    later = _draft(app, staff, family, period_start=drafted.isoformat(),
                   period_end=end.isoformat(), starts_on_signing="y")
    page = staff.get(f"/agreements/{later}/sign").get_data(as_text=True)
    assert "Firmado hoy, el acuerdo impreso dirá: vigente del" in page
    assert staff.post(f"/agreements/{later}/sign", data=sign_form()).status_code == 302
    agreement = get_agreement(app, later)
    assert agreement.period_start == today
    assert agreement.period_end == today + timedelta(days=364)
    assert agreement.signed_content["period"]["start"] == today.isoformat()
    assert hashlib.sha256(json.dumps(agreement.signed_content, sort_keys=True,
                                     separators=(",", ":"), ensure_ascii=False).encode()
                          ).hexdigest() == agreement.content_hash

    other = make_other_family(app)
    typed = _draft(app, staff, other, period_start=drafted.isoformat(),
                   period_end=end.isoformat())
    assert staff.post(f"/agreements/{typed}/sign", data=sign_form()).status_code == 302
    assert get_agreement(app, typed).period_start == drafted


def make_other_family(app) -> uuid.UUID:
    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    with app.test_request_context():
        community = db.session.execute(select(Community.id).limit(1)).scalar_one()
        family = create_family({"community_id": community, "head_given_names": "Elmer",
                                "head_surname": "Sangama Ríos", "members_count": 2,
                                "confirm_not_duplicate": True})
        db.session.commit()
        return family.id


def test_draft_from_catalogue_shows_terms_and_promises(app, staff, family):
    r = staff.get(f"/agreements/new?family={family}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "No talar ni quemar bosque primario" in page  # Spanish catalogue text
    assert 'name="qty_cookstove"' in page

    r = staff.post("/agreements/new", data=draft_form(app, family))
    assert r.status_code == 302
    page = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert "AM-2026-TST-0001" in page
    assert "borrador" in page
    assert "No cazar ni comerciar especies amenazadas" in page
    assert "Plantones de café" in page
    assert "1000" in page.replace(".", "").replace(",", "")
    # The family page's timeline lists it.
    family_page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "AM-2026-TST-0001" in family_page
    assert "Línea de tiempo" in family_page


def test_draft_double_submit_makes_one_agreement(app, staff, family):
    data = draft_form(app, family)
    first = staff.post("/agreements/new", data=data, headers=JSON)
    second = staff.post("/agreements/new", data=data, headers=JSON)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.get_json() == second.get_json()
    assert first.get_json()["url"].endswith(first.get_json()["id"])
    with app.app_context():
        from fieldapp.agreements.models import Agreement

        assert len(db.session.execute(select(Agreement)).scalars().all()) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"period_end": "2025-06-30"}, "period_end", "antes de empezar"),
        ({"commitments": []}, "commitments", "compromiso"),
        ({"qty_coffee_seedlings": "-5"}, "qty_coffee_seedlings", "1.000.000"),
        ({"qty_coffee_seedlings": "abc"}, "qty_coffee_seedlings", None),
        ({"period_start": "not a date"}, "period_start", None),
    ],
)
def test_bad_draft_is_refused_next_to_the_field(app, staff, family, overrides, field, message):
    r = staff.post("/agreements/new", data=draft_form(app, family, **overrides))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    if message:
        assert message in page
    assert "has-error" in page
    j = staff.post("/agreements/new", data=draft_form(app, family, **overrides), headers=JSON)
    assert j.status_code == 422
    body = j.get_json()["error"]
    assert body["code"] == "invalid"
    assert field in body["details"]["fields"]


def test_second_original_for_the_same_period_is_refused(app, staff, family):
    _draft(app, staff, family)
    r = staff.post("/agreements/new", data=draft_form(app, family), headers=JSON)
    assert r.status_code == 422
    assert "period_start" in r.get_json()["error"]["details"]["fields"]


def test_draft_can_be_edited_and_discarded(app, staff, family):
    agreement_id = _draft(app, staff, family)
    r = staff.post(f"/agreements/{agreement_id}/edit",
                   data=draft_form(app, family, qty_coffee_seedlings="1200"))
    assert r.status_code == 302
    with app.app_context():
        from fieldapp.agreements.queries import load_agreement

        agreement = load_agreement(agreement_id)
        assert [str(b.quantity) for b in agreement.benefits if b.benefit_type.code ==
                "coffee_seedlings" and not b.voided] == ["1200.00"]
    r = staff.post(f"/agreements/{agreement_id}/discard")
    assert r.status_code == 302
    assert staff.get(f"/agreements/{agreement_id}").status_code == 404


# -- signing and the frozen content -----------------------------------------------------------
def test_signing_on_the_pad_freezes_content_and_hash(app, staff, family):
    agreement_id = _draft(app, staff, family)
    form_page = staff.get(f"/agreements/{agreement_id}/sign").get_data(as_text=True)
    assert 'data-outbox="agreement-signature"' in form_page
    assert "signature-pad.js" in form_page
    r = staff.post(f"/agreements/{agreement_id}/sign",
                   data=sign_form(witness_name="Julio Vela", witness_signature=SIGNATURE))
    assert r.status_code == 302
    agreement = get_agreement(app, agreement_id)
    assert agreement.status == "signed"
    assert agreement.signed_on_paper is False
    stored = agreement.signed_content
    # The hash is recomputed from the stored content, canonically serialised.
    blob = json.dumps(stored, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(blob.encode()).hexdigest() == agreement.content_hash
    assert [s["role"] for s in stored["signatures"]] == ["family", "staff", "witness"]
    assert all(len(s["image_sha256"]) == 64 for s in stored["signatures"])
    assert stored["family"]["dni"] == "41234567"
    assert {c["code"] for c in stored["commitments"]} == {"no_clearing", "no_hunting",
                                                          "attend_trainings"}
    page = staff.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert agreement.content_hash in page
    assert "coincide con el contenido congelado" in page
    # The stored images are served as PNG and hash to what the content says.
    with app.app_context():
        from fieldapp.agreements.models import Signature

        signature = db.session.execute(
            select(Signature).where(Signature.signer_role == "witness")).scalar_one()
        sig_id, sig_hash = signature.id, signature.image_sha256
        assert (signature.width, signature.height) == (600, 200)
        assert signature.lat == pytest.approx(-5.71)
    img = staff.get(f"/agreements/signatures/{sig_id}.png")
    assert img.status_code == 200
    assert img.mimetype == "image/png"
    assert hashlib.sha256(img.data).hexdigest() == sig_hash


def test_signed_agreement_cannot_be_edited_or_signed_again(app, staff, family):
    agreement_id = _signed(app, staff, family)
    before = get_agreement(app, agreement_id).content_hash
    r = staff.post(f"/agreements/{agreement_id}/edit",
                   data=draft_form(app, family, qty_coffee_seedlings="9999"), headers=JSON)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "agreement_frozen"
    html = staff.get(f"/agreements/{agreement_id}/edit")
    assert html.status_code == 409
    assert "nunca se cambia" in html.get_data(as_text=True)
    again = staff.post(f"/agreements/{agreement_id}/sign", data=sign_form(), headers=JSON)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "transition_refused"
    assert staff.post(f"/agreements/{agreement_id}/discard").status_code == 409
    agreement = get_agreement(app, agreement_id)
    assert agreement.content_hash == before
    assert all(b.quantity != 9999 for b in agreement.benefits)


def test_signed_terms_are_guarded_below_the_views_too(app, staff, family):
    agreement_id = _signed(app, staff, family)
    from fieldapp.agreements.models import Agreement
    from fieldapp.agreements.rules import AgreementFrozen

    with app.test_request_context():
        agreement = db.session.get(Agreement, agreement_id)
        agreement.period_end = agreement.period_end.replace(day=30)
        with pytest.raises(AgreementFrozen):
            db.session.flush()
        db.session.rollback()
        agreement = db.session.get(Agreement, agreement_id)
        agreement.benefits[0].quantity = 1
        with pytest.raises(AgreementFrozen):
            db.session.flush()
        db.session.rollback()


def test_signing_on_paper_records_the_date_without_images(app, staff, family):
    agreement_id = _draft(app, staff, family)
    r = staff.post(f"/agreements/{agreement_id}/sign", data=sign_form(
        mode="paper", family_signature="", staff_signature="", paper_date="2026-01-05", place=""))
    assert r.status_code == 302
    agreement = get_agreement(app, agreement_id)
    assert agreement.signed_on_paper is True
    assert agreement.signed_at.date().isoformat() == "2026-01-05"
    assert agreement.signed_content["signed_on_paper"] is True
    assert [s["image_sha256"] for s in agreement.signed_content["signatures"]] == [None, None]


@pytest.mark.parametrize(
    ("overrides", "field", "needle"),
    [
        ({"family_signature": data_url(b"GIF89a" + b"\0" * 40, "image/gif")}, "family_signature",
         "PNG"),
        ({"family_signature": data_url(b"not a png at all")}, "family_signature", "PNG"),
        ({"family_signature": data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)}, "family_signature",
         "PNG"),
        ({"staff_signature": "data:image/png;base64,@@@"}, "staff_signature", "PNG"),
        ({"family_signature": data_url(png_bytes(40, 20))}, "family_signature", "40×20"),
        ({"family_signature": data_url(png_bytes(3000, 200))}, "family_signature", "3000×200"),
        ({"staff_signature": data_url(png_bytes(ink=False))}, "staff_signature", "vacío"),
        ({"family_signature": ""}, "family_signature", "Firme"),
        ({"witness_name": "Julio"}, "witness_signature", "testigo"),
        ({"mode": "paper", "paper_date": ""}, "paper_date", "fecha"),
        ({"mode": "paper", "paper_date": "2999-01-01"}, "paper_date", "futuro"),
        ({"lat": "95"}, "lat", None),
    ],
)
def test_bad_signatures_are_refused(app, staff, family, overrides, field, needle):
    agreement_id = _draft(app, staff, family)
    r = staff.post(f"/agreements/{agreement_id}/sign", data=sign_form(**overrides))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    if needle:
        assert needle in page
    j = staff.post(f"/agreements/{agreement_id}/sign", data=sign_form(**overrides), headers=JSON)
    assert j.status_code == 422
    assert field in j.get_json()["error"]["details"]["fields"]
    assert get_agreement(app, agreement_id).status == "draft"


def test_too_large_signature_is_refused(app, staff, family):
    app.config["SIGNATURE_MAX_BYTES"] = 2048
    agreement_id = _draft(app, staff, family)
    noisy = png_bytes(600, 200)
    assert len(noisy) > 2048
    r = staff.post(f"/agreements/{agreement_id}/sign",
                   data=sign_form(family_signature=data_url(noisy)), headers=JSON)
    assert r.status_code == 422
    assert "KB" in r.get_json()["error"]["details"]["fields"]["family_signature"]


def test_signature_double_submit_signs_once(app, staff, family):
    agreement_id = _draft(app, staff, family)
    data = sign_form()
    first = staff.post(f"/agreements/{agreement_id}/sign", data=data, headers=JSON)
    second = staff.post(f"/agreements/{agreement_id}/sign", data=data, headers=JSON)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == str(agreement_id)
    with app.app_context():
        from fieldapp.agreements.models import Signature

        assert len(db.session.execute(select(Signature)).scalars().all()) == 2


# -- the status machine -------------------------------------------------------------------------
LEGAL = {
    ("signed", "active"), ("active", "suspended"), ("active", "completed"),
    ("active", "terminated"), ("suspended", "active"), ("suspended", "completed"),
    ("suspended", "terminated"),
}
STATES = ("draft", "signed", "active", "suspended", "completed", "terminated")
TARGETS = ("signed", "active", "suspended", "completed", "terminated", "superseded", "bogus")


@pytest.mark.parametrize("start", STATES)
def test_status_transition_table(app, coordinator, family, start):
    for to in TARGETS:
        agreement_id = agreement_in_state(app, family, start)
        r = coordinator.post(f"/agreements/{agreement_id}/status",
                             data={"to": to, "reason": "motivo de prueba"})
        after = get_agreement(app, agreement_id).status
        if (start, to) in LEGAL:
            assert r.status_code == 302, (start, to)
            assert after == to
        else:
            assert r.status_code == 409, (start, to)
            assert after == start
            assert "no puede pasar" in r.get_data(as_text=True) or "solo firmándolo" in r.get_data(
                as_text=True)
        with app.app_context():  # make room for the next agreement of the same period
            db.session.execute(db.text("UPDATE agreements SET voided = 1"))
            db.session.commit()


def test_suspension_needs_a_reason_and_is_shown_on_the_family_timeline(app, coordinator, family):
    agreement_id = agreement_in_state(app, family, "active")
    r = coordinator.post(f"/agreements/{agreement_id}/status", data={"to": "suspended"},
                         headers=JSON)
    assert r.status_code == 422
    assert r.get_json()["error"]["details"]["field"] == "reason"
    assert get_agreement(app, agreement_id).status == "active"
    r = coordinator.post(f"/agreements/{agreement_id}/status",
                         data={"to": "suspended", "reason": "Tala de bosque primario"})
    assert r.status_code == 302
    timeline = coordinator.get(f"/families/{family}").get_data(as_text=True)
    assert "Tala de bosque primario" in timeline
    assert "suspendido" in timeline


def test_field_staff_cannot_change_status(app, staff, family):
    agreement_id = agreement_in_state(app, family, "signed")
    r = staff.post(f"/agreements/{agreement_id}/status", data={"to": "active"})
    assert r.status_code == 403
    assert get_agreement(app, agreement_id).status == "signed"
    page = staff.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert "Cambiar estado" not in page


# -- amendments and renewals --------------------------------------------------------------------
def test_amendment_is_a_new_linked_version_that_supersedes_on_activation(app, staff, coordinator,
                                                                         family):
    base_id = agreement_in_state(app, family, "active")
    base_hash = get_agreement(app, base_id).content_hash
    key = str(uuid.uuid4())
    r = staff.post(f"/agreements/{base_id}/amend", data={"idempotency_key": key}, headers=JSON)
    assert r.status_code == 201
    again = staff.post(f"/agreements/{base_id}/amend", data={"idempotency_key": key},
                       headers=JSON)
    assert again.status_code == 200
    assert again.get_json()["id"] == r.get_json()["id"]
    amendment_id = uuid.UUID(r.get_json()["id"])
    amendment = get_agreement(app, amendment_id)
    assert (amendment.kind, amendment.version_no, amendment.supersedes_id) == ("amendment", 2,
                                                                              base_id)
    assert amendment.status == "draft"
    # A second amendment of the same base is refused while one exists.
    refused = staff.post(f"/agreements/{base_id}/amend",
                         data={"idempotency_key": str(uuid.uuid4())})
    assert refused.status_code == 409
    assert "ya tiene la adenda" in refused.get_data(as_text=True)
    # Change it and sign it: the base keeps its content and stays active until activation.
    assert staff.post(f"/agreements/{amendment_id}/edit",
                      data=draft_form(app, family, qty_coffee_seedlings="1500")).status_code == 302
    assert staff.post(f"/agreements/{amendment_id}/sign", data=sign_form()).status_code == 302
    assert get_agreement(app, base_id).status == "active"
    assert coordinator.post(f"/agreements/{amendment_id}/status",
                            data={"to": "active"}).status_code == 302
    base = get_agreement(app, base_id)
    assert base.status == "superseded"
    assert base.content_hash == base_hash
    page = coordinator.get(f"/agreements/{amendment_id}").get_data(as_text=True)
    assert base.number in page
    assert "adenda" in page


def test_renewal_starts_the_next_period_with_a_new_number(app, staff, family):
    base_id = agreement_in_state(app, family, "active")
    r = staff.post(f"/agreements/{base_id}/renew", data={"idempotency_key": str(uuid.uuid4())},
                   headers=JSON)
    assert r.status_code == 201
    renewal = get_agreement(app, uuid.UUID(r.get_json()["id"]))
    assert renewal.kind == "renewal"
    assert renewal.supersedes_id == base_id
    assert renewal.period_start.isoformat() == "2027-01-01"
    assert renewal.period_end.isoformat() == "2027-12-31"
    assert renewal.number.startswith("AM-2027-")
    twice = staff.post(f"/agreements/{base_id}/renew", data={"idempotency_key": str(uuid.uuid4())},
                       headers=JSON)
    assert twice.status_code == 409


def test_suspended_agreement_cannot_be_amended_or_renewed(app, staff, family):
    agreement_id = agreement_in_state(app, family, "suspended")
    for action in ("amend", "renew"):
        r = staff.post(f"/agreements/{agreement_id}/{action}",
                       data={"idempotency_key": str(uuid.uuid4())}, headers=JSON)
        assert r.status_code == 409
        assert r.get_json()["error"]["code"] == "transition_refused"


# -- access -------------------------------------------------------------------------------------
def test_field_staff_outside_their_communities_is_refused(app, make_community, make_family):
    seed(app)
    mine = make_community(code="C900", name="Mía")
    other_family = make_family()
    client = login(app, "field_staff", "scoped", communities=("C900",))
    assert mine
    assert client.get(f"/agreements/new?family={other_family}").status_code == 403
    agreement_id = agreement_in_state(app, other_family, "active")
    assert client.get(f"/agreements/{agreement_id}").status_code == 403


def test_anonymous_is_sent_to_login(client, app, family):
    agreement_id = agreement_in_state(app, family, "active")
    r = client.get(f"/agreements/{agreement_id}")
    assert r.status_code == 302
    assert "/auth/login" in r.headers["Location"]
    assert client.get(f"/agreements/{agreement_id}", headers=JSON).status_code == 401


# -- catalogues ---------------------------------------------------------------------------------
def test_admin_writes_a_unit_in_the_singular_and_plural(app, family):
    """The benefit form asks for the unit's four forms (Spanish ones required); a new draft
    proposes the Spanish plural, and a delivery of 1 shows the singular."""
    from fieldapp.agreements.catalogue import quantity_with_unit
    from fieldapp.agreements.models import BenefitType

    admin = login(app, "admin")
    form = admin.get("/agreements/catalogue/benefits/new").get_data(as_text=True)
    assert "Unidad en español, singular (1 botiquín)" in form
    assert "Unidad en inglés, plural (3 first-aid kits)" in form
    base = {"code": "bee_hives", "category": "other", "name_es": "Colmenas",
            "name_en": "Beehives", "position": "9", "active": "y"}
    r = admin.post("/agreements/catalogue/benefits/new", data={**base, "unit_other_es": "x"})
    assert r.status_code == 422  # the Spanish singular is required
    r = admin.post("/agreements/catalogue/benefits/new", data={
        **base, "unit_one_es": "colmena", "unit_other_es": "colmenas", "unit_one_en": "hive",
        "unit_other_en": "hives"})
    assert r.status_code == 302
    with app.test_request_context():
        hives = db.session.execute(select(BenefitType).where(BenefitType.code == "bee_hives")
                                   ).scalar_one()
        assert (hives.default_unit, hives.unit_one_en) == ("colmenas", "hive")
        assert quantity_with_unit(1, "colmenas", "es") == "1 colmena"
        assert quantity_with_unit(1, "colmenas", "en") == "1 hive"
        assert quantity_with_unit(4, hives, "en") == "4 hives"
    assert "colmena / colmenas" in admin.get("/agreements/catalogue").get_data(as_text=True)


def test_admin_edits_the_catalogue_in_both_languages(app, family):
    admin = login(app, "admin")
    r = admin.post("/agreements/catalogue/commitments/new", data={
        "code": "no_fire", "text_es": "No usar fuego para limpiar la chacra.",
        "text_en": "Do not use fire to clear the plot.", "position": "8", "active": "y"})
    assert r.status_code == 302
    r = admin.post("/agreements/catalogue/commitments/new", data={
        "code": "no_fire", "text_es": "Otra", "text_en": "Other", "position": "9", "active": "y"})
    assert r.status_code == 422
    assert "ya está en el catálogo" in r.get_data(as_text=True)
    r = admin.post("/agreements/catalogue/benefits/new", data={
        "code": "bee_hives", "category": "other", "name_es": "Colmenas", "name_en": "Beehives",
        "unit_one_es": "colmena", "unit_other_es": "colmenas", "position": "9", "active": "y"})
    assert r.status_code == 302
    r = admin.post("/agreements/catalogue/benefits/new", data={
        "code": "Bad Code", "category": "nonsense", "name_es": "", "name_en": "x",
        "unit_one_es": "u", "unit_other_es": "u", "position": "1"})
    assert r.status_code == 422
    _, benefits = catalogue(app)
    r = admin.post(f"/agreements/catalogue/benefits/{benefits['cookstove']}", data={
        "category": "cookstove", "name_es": "Cocina mejorada a leña",
        "name_en": "Improved wood cookstove", "unit_one_es": "unidad", "unit_other_es": "unidades",
        "position": "6"})
    assert r.status_code == 302
    spanish = admin.get("/agreements/catalogue").get_data(as_text=True)
    assert "No usar fuego para limpiar la chacra." in spanish
    assert "Do not use fire to clear the plot." in spanish
    assert "Catálogos" in spanish
    assert "no se ofrece" in spanish
    admin.post("/auth/language/en", data={"next": "/"})
    english = admin.get("/agreements/catalogue").get_data(as_text=True)
    assert "Catalogues" in english
    assert "not offered" in english
    # A draft offers the new commitment, in the user's language.
    page = admin.get(f"/agreements/new?family={family}").get_data(as_text=True)
    assert "Do not use fire to clear the plot." in page
    assert 'name="qty_cookstove"' not in page


def test_catalogue_is_for_admins_only(app, coordinator):
    assert coordinator.get("/agreements/catalogue").status_code == 403
    assert coordinator.post("/agreements/catalogue/commitments/new",
                            data={"code": "x_y", "text_es": "a", "text_en": "b"}).status_code == 403


def test_agreement_page_in_english(app, staff, family):
    agreement_id = _signed(app, staff, family)
    staff.post("/auth/language/en", data={"next": "/"})
    page = staff.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert "Benefits: promised and delivered" in page
    assert "Do not clear or burn primary forest" in page
    assert "matches the frozen content" in page


def test_agreement_page_renders_the_sections_its_view_gathers(app, staff, coordinator, family):
    """Deliveries and compliance register their cards (agreements/sections.py); the view
    gathers their data and the page only renders it, each card placed among the page's own
    cards by its order, so a new section needs no change to agreements. A gatherer with
    nothing to show (sanctions, when there are none) leaves its card out."""
    import re

    from jinja2 import ChoiceLoader, DictLoader

    from fieldapp.agreements.sections import register_section

    agreement_id = _signed(app, staff, family)
    gathered = []

    def gather(page):
        gathered.append(page.agreement.id)
        return {"number": page.agreement.number}

    register_section(app, "extra", gather, "test/_extra.html", 35, title="Extra section")
    register_section(app, "nothing", lambda page: None, "test/_extra.html", 95, title="Nothing")
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"test/_extra.html": "<p class=extra>{{ section.data.number }}</p>"}),
        app.jinja_env.loader])
    page = coordinator.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert gathered == [agreement_id]
    cards = re.findall(r'<section class="card[^"]*" id="([\w-]+)">\s*<h2>([^<]+)</h2>', page)
    assert [name for name, _title in cards] == [
        "next-step", "commitments", "benefits", "signatures", "extra", "media", "status",
        "versions", "history"]  # no "sanctions" (none proposed), no "nothing"
    assert ("extra", "Extra section") in cards
    assert ("benefits", "Beneficios: prometidos y entregados") in cards  # translated
    number = get_agreement(app, agreement_id).number
    assert f"<p class=extra>{number}</p>" in page
    assert "<th class=\"num\">Pendiente</th>" in page  # the deliveries table, rendered


def test_transparent_signature_is_flattened_on_white(app, staff, family):
    from PIL import Image, ImageDraw

    def transparent(ink: bool) -> str:
        img = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
        if ink:
            ImageDraw.Draw(img).line([(20, 100), (300, 40), (580, 150)], fill=(0, 0, 0, 255),
                                     width=4)
        out = __import__("io").BytesIO()
        img.save(out, format="PNG")
        return data_url(out.getvalue())

    agreement_id = _draft(app, staff, family)
    blank = staff.post(f"/agreements/{agreement_id}/sign",
                       data=sign_form(family_signature=transparent(False)), headers=JSON)
    assert blank.status_code == 422  # transparent everywhere = nothing drawn
    r = staff.post(f"/agreements/{agreement_id}/sign",
                   data=sign_form(family_signature=transparent(True)))
    assert r.status_code == 302
    with app.app_context():
        from PIL import Image

        from fieldapp.agreements.models import Signature

        stored = db.session.execute(
            select(Signature.image_png).where(Signature.signer_role == "family")).scalar_one()
        img = Image.open(__import__("io").BytesIO(stored))
        assert img.mode == "L"
        assert img.getpixel((5, 5)) == 255  # the transparent background became white
        assert img.getpixel((20, 100)) < 100  # the ink stayed dark


# -- competing versions (two nodes amended one base) ---------------------------------------------
def _competing_amendments(app, family_id) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A base with two signed amendments (as two nodes make them before syncing): the first
    kept by a coordinator, the second set aside (what the conflict screen writes)."""
    from fieldapp.agreements.content import content_hash
    from fieldapp.agreements.models import Agreement
    from fieldapp.agreements.operations import create_amendment, sign_agreement
    from fieldapp.families.models import Family

    base_id = agreement_in_state(app, family_id, "active")
    with app.test_request_context():
        base = db.session.get(Agreement, base_id)
        kept = create_amendment(base)
        family = db.session.get(Family, family_id)
        sign_agreement(kept, {"mode": "paper", "family_name": family.head_name,
                              "staff_name": "Staff", "paper_date": base.period_start})
        db.session.commit()
        db.session.info["applying_remote"] = True  # as sync writes the other node's version
        columns = {c.key: getattr(kept, c.key) for c in Agreement.__table__.columns
                   if c.key not in ("id", "number", "created_at", "updated_at")}
        aside = Agreement(**columns, id=uuid.uuid4(), number=kept.number + "-B")
        aside.signed_content = {**kept.signed_content, "id": str(aside.id),
                                "number": aside.number}
        aside.content_hash = content_hash(aside.signed_content)
        aside.conflict_flag = "set_aside"
        db.session.add(aside)
        db.session.commit()
        db.session.info.pop("applying_remote")
        return base_id, kept.id, aside.id


def test_set_aside_version_is_not_valid_and_cannot_be_activated(app_factory, make_family):
    """A coordinator kept one of two competing amendments: the other is "set aside" on /verify
    (naming the kept version) and its activation is refused; the kept one activates normally."""
    central = app_factory(ROLE="central")
    seed(central)
    with central.test_request_context():
        from fieldapp.communities.models import Community
        from fieldapp.families.operations import create_family

        community = Community(code="C100", name="Santa Rosa")
        db.session.add(community)
        db.session.flush()
        family_id = create_family({"community_id": community.id, "head_given_names": "Rosa",
                                   "head_surname": "Tapullima", "members_count": 3}).id
        db.session.commit()
    base_id, kept_id, aside_id = _competing_amendments(central, family_id)
    kept, aside = get_agreement(central, kept_id), get_agreement(central, aside_id)
    verifier = central.test_client()
    verdict = verifier.get(f"/verify/{aside_id}/{aside.content_hash}",
                           headers=JSON).get_json()["verdict"]
    assert verdict["status"] == "set_aside"
    assert verdict["kept_number"] == kept.number
    page = verifier.get(f"/verify/{aside_id}/{aside.content_hash}").get_data(as_text=True)
    assert "valid" not in page.split('data-verdict="')[1][:20]
    assert kept.number in page
    assert verifier.get(f"/verify/{kept_id}/{kept.content_hash}",
                        headers=JSON).get_json()["verdict"]["status"] == "valid"
    coordinator = login(central, "coordinator")
    refused = coordinator.post(f"/agreements/{aside_id}/status", data={"to": "active"},
                               headers=JSON)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "version_set_aside"
    assert get_agreement(central, base_id).status == "active"
    assert get_agreement(central, aside_id).status == "signed"
    assert coordinator.post(f"/agreements/{kept_id}/status",
                            data={"to": "active"}).status_code == 302
    assert get_agreement(central, kept_id).status == "active"
    assert get_agreement(central, base_id).status == "superseded"


def test_an_enrolled_field_node_refuses_catalogue_changes(app, family):
    """Central refuses a node's catalogue change (``central_catalogue``): an enrolled node says so
    when the change is made, instead of holding it back at the next sync."""
    import json
    from pathlib import Path

    admin = login(app, "admin")
    (Path(app.instance_path) / "sync.json").write_text(json.dumps(
        {"central_url": "https://central.example.org", "node_id": str(uuid.uuid4()),
         "node_code": "TST", "secret": "x" * 64}))
    r = admin.post("/agreements/catalogue/commitments/new", data={
        "code": "no_fire", "text_es": "No usar fuego.", "text_en": "No fire.", "position": "8",
        "active": "y"})
    assert r.status_code == 409
    assert "Los catálogos se cambian en el servidor central" in r.get_data(as_text=True)
    _, benefits = catalogue(app)
    r = admin.post(f"/agreements/catalogue/benefits/{benefits['cookstove']}", data={
        "category": "cookstove", "name_es": "Otra", "name_en": "Other",
        "unit_one_es": "unidad", "unit_other_es": "unidades", "position": "6"})
    assert r.status_code == 409
    commitments, _ = catalogue(app)
    assert "no_fire" not in commitments
    with app.app_context():
        from fieldapp.agreements.models import BenefitType

        assert db.session.get(BenefitType, benefits["cookstove"]).name_es != "Otra"


def test_a_signature_drawn_offline_is_dated_when_it_was_drawn(app, staff, family):
    """Drafted and signed on the tablet offline two days ago (both waited in the outbox): the
    agreement carries the day it was drawn, and its period still starts that day (dated on
    arrival, it moved to the day the node received it). A drawing time in the future, older
    than SIGNATURE_MAX_DELAY_DAYS, or not a time gives the node's time."""
    from datetime import UTC, datetime, timedelta

    from fieldapp.submissions import local_date

    drawn = datetime.now(UTC) - timedelta(days=2, hours=1)
    with app.test_request_context():
        drawn_day = local_date(drawn)
    offline = _draft(app, staff, family, period_start=drawn_day.isoformat(),
                     period_end=(drawn_day + timedelta(days=364)).isoformat(),
                     starts_on_signing="y")
    assert staff.post(f"/agreements/{offline}/sign",
                      data=sign_form(drawn_at=drawn.isoformat())).status_code == 302
    agreement = get_agreement(app, offline)
    assert agreement.signed_at == drawn
    assert agreement.period_start == drawn_day
    assert agreement.signed_content["period"]["start"] == drawn_day.isoformat()
    assert all(s.signed_at == drawn for s in agreement.signatures)

    for wrong in ((datetime.now(UTC) + timedelta(days=1)).isoformat(),
                  (datetime.now(UTC) - timedelta(days=15)).isoformat(),
                  "2026-13-45T99:00", "2026-12-01T10:00:00"):  # the last: no offset
        other = make_other_family(app)
        draft = _draft(app, staff, other)
        before = datetime.now(UTC)
        assert staff.post(f"/agreements/{draft}/sign",
                          data=sign_form(drawn_at=wrong)).status_code == 302
        signed = get_agreement(app, draft).signed_at
        assert before - timedelta(seconds=1) <= signed <= datetime.now(UTC), wrong
