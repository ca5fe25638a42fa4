"""Deliveries through HTTP: against the active agreement only, refusals with reasons, promised
vs delivered, over-promise confirmation, receipts, reversals, suspected doubles, double submits,
dates, lists per family and community."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from cyclekit import SIGNATURE, agreement_in_state, catalogue, data_url, login, png_bytes, seed
from sqlalchemy import func, select

from fieldapp.extensions import db

JSON = {"Accept": "application/json"}


@pytest.fixture
def family(app, make_family, make_community):
    seed(app)
    return make_family(community_id=make_community(code="C300", name="Aguas Verdes"))


@pytest.fixture
def staff(app):
    return login(app, "field_staff")


def _form(app, family_id, **overrides):
    _, benefits = catalogue(app)
    data = {
        "family_id": str(family_id),
        "benefit_type_id": str(benefits["coffee_seedlings"]),
        "item": "Plantones de café caturra",
        "quantity": "250",
        "unit": "plantones",
        "delivered_on": "2026-03-15",
        "delivered_by_name": "Wilmer Tuanama",
        "receipt_kind": "signature",
        "receiver_name": "María Huamán",
        "receipt_signature": SIGNATURE,
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def _deliveries(app):
    from fieldapp.deliveries.models import Delivery

    with app.app_context():
        rows = db.session.execute(select(Delivery).order_by(Delivery.created_at)).scalars().all()
        db.session.expunge_all()
        return rows


def test_delivery_against_the_active_agreement(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    page = staff.get(f"/deliveries/new?family={family}").get_data(as_text=True)
    assert 'data-outbox="delivery"' in page
    assert "Plantones de café" in page
    assert "signature-pad.js" in page
    r = staff.post("/deliveries/new", data=_form(app, family))
    assert r.status_code == 302
    [delivery] = _deliveries(app)
    assert delivery.agreement_id == agreement_id
    assert (delivery.quantity, delivery.receipt_kind) == (250, "signature")
    with app.app_context():
        from fieldapp.agreements.models import Signature

        sig = db.session.execute(select(Signature).where(Signature.delivery_id == delivery.id)
                                 ).scalar_one()
        assert (sig.signer_role, sig.signer_name) == ("receipt", "María Huamán")
    family_page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "Plantones de café caturra" in family_page
    assert "750" in family_page  # still owed of 1,000 promised
    detail = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert "Anular esta entrega" in detail


def test_thumbprint_on_paper_needs_no_signature(app, staff, family):
    agreement_in_state(app, family, "active")
    r = staff.post("/deliveries/new", data=_form(app, family, receipt_kind="thumbprint_paper",
                                                 receipt_signature=""), headers=JSON)
    assert r.status_code == 201
    assert _deliveries(app)[0].receipt_kind == "thumbprint_paper"


@pytest.mark.parametrize(
    ("status", "reason", "needle"),
    [
        ("suspended", "suspended", "está suspendido"),
        ("terminated", "terminated", "fue terminado"),
        ("signed", "not_active", "no está activo"),
        ("draft", "not_signed", "no está firmado"),
        ("completed", "ended", "ha concluido"),
        (None, "no_agreement", "no tiene acuerdo"),
    ],
)
def test_delivery_refused_without_an_active_agreement(app, staff, family, status, reason, needle):
    if status:
        agreement_in_state(app, family, status)
    r = staff.post("/deliveries/new", data=_form(app, family), headers=JSON)
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "delivery_refused"
    assert error["details"]["reason"] == reason
    html = staff.post("/deliveries/new", data=_form(app, family))
    assert html.status_code == 409
    page = html.get_data(as_text=True)
    assert needle in page
    assert "Plantones de café caturra" in page  # what was typed is kept
    assert _deliveries(app) == []


def test_signed_agreement_benefits_are_not_called_not_promised(app, staff, family):
    """Signed, not active yet: the form refuses the delivery and says who activates it, but
    the benefits the family signed for are not labelled "no prometido"."""
    agreement_in_state(app, family, "signed")
    page = staff.get(f"/deliveries/new?family={family}").get_data(as_text=True)
    assert "no está activo" in page
    assert "coordinador lo activa" in page
    options = page[page.find('name="benefit_type_id"'):]
    options = options[:options.find("</select>")]
    coffee = next(line for line in options.split("<option") if "Plantones de café" in line)
    assert "no prometido" not in coffee
    assert "no prometido" in options  # a benefit outside the agreement still says so


def test_suspension_reason_is_shown_when_refused(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    coordinator = login(app, "coordinator")
    coordinator.post(f"/agreements/{agreement_id}/status",
                     data={"to": "suspended", "reason": "Quema de bosque en la parcela"})
    page = staff.get(f"/deliveries/new?family={family}").get_data(as_text=True)
    assert "Quema de bosque en la parcela" in page
    r = staff.post("/deliveries/new", data=_form(app, family), headers=JSON)
    assert "Quema de bosque en la parcela" in r.get_json()["error"]["message"]
    # Reactivated: deliveries are accepted again.
    coordinator.post(f"/agreements/{agreement_id}/status", data={"to": "active"})
    assert staff.post("/deliveries/new", data=_form(app, family),
                      headers=JSON).status_code == 201


def test_over_promise_asks_for_confirmation(app, staff, family):
    agreement_in_state(app, family, "active")
    assert staff.post("/deliveries/new", data=_form(app, family, quantity="900"),
                      headers=JSON).status_code == 201
    data = _form(app, family, quantity="200", delivered_on="2026-04-02")
    r = staff.post("/deliveries/new", data=data, headers=JSON)
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "over_promise"
    assert "confirm_over_promise" in error["details"]["fields"]
    assert error["details"]["confirm"] == "confirm_over_promise"  # the tablet shows that box
    assert (error["details"]["allowed"], error["details"]["delivered"]) == ("1000.00", "900.00")
    html = staff.post("/deliveries/new", data=data)
    assert html.status_code == 422
    assert 'data-confirm="confirm_over_promise">' in html.get_data(as_text=True)  # shown
    # Confirmed, under the same key (the outbox's corrected item): the refusal kept no key.
    ok = staff.post("/deliveries/new", data={**data, "confirm_over_promise": "y"}, headers=JSON)
    assert ok.status_code == 201
    assert _deliveries(app)[-1].over_promise_confirmed is True
    # A benefit the agreement does not promise at all asks too.
    _, benefits = catalogue(app)
    r = staff.post("/deliveries/new", data=_form(app, family, benefit_type_id=str(
        benefits["cookstove"]), item="Cocina", quantity="1", unit="unidades"), headers=JSON)
    assert r.get_json()["error"]["code"] == "over_promise"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-3"}, "quantity"),
        ({"quantity": "1e9"}, "quantity"),
        ({"quantity": "1.234"}, "quantity"),
        ({"delivered_on": "2999-01-01"}, "delivered_on"),
        ({"delivered_on": "2025-12-20"}, "delivered_on"),  # before the agreement started
        ({"delivered_on": ""}, "delivered_on"),
        ({"unit": "kilos"}, "unit"),
        ({"receipt_kind": "none"}, "receipt_kind"),
        ({"receipt_signature": ""}, "receipt_signature"),
        ({"receipt_signature": data_url(b"\xff\xd8\xff\xe0JFIF", "image/jpeg")},
         "receipt_signature"),
        ({"receipt_signature": data_url(png_bytes(20, 20))}, "receipt_signature"),
        ({"benefit_type_id": str(uuid.UUID(int=3))}, "benefit_type_id"),
    ],
)
def test_bad_delivery_is_refused_next_to_the_field(app, staff, family, overrides, field):
    agreement_in_state(app, family, "active")
    r = staff.post("/deliveries/new", data=_form(app, family, **overrides), headers=JSON)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["error"]["details"]["fields"]
    assert staff.post("/deliveries/new", data=_form(app, family, **overrides)).status_code == 422
    assert _deliveries(app) == []


def test_future_date_refused_in_the_operations_layer(app, family):
    """The rule holds without the form (e.g. a replayed or scripted submission)."""
    from fieldapp.deliveries.operations import record_delivery
    from fieldapp.errors import ValidationFailed
    from fieldapp.families.models import Family
    from fieldapp.submissions import local_today

    agreement_in_state(app, family, "active")
    _, benefits = catalogue(app)
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            record_delivery(db.session.get(Family, family), {
                "benefit_type_id": benefits["medical_kit"], "quantity": 1,
                "delivered_on": local_today() + timedelta(days=1),
                "receipt_kind": "thumbprint_paper", "delivered_by_name": "x"})
        assert caught.value.details["field"] == "delivered_on"


def test_double_submit_records_one_delivery(app, staff, family):
    agreement_in_state(app, family, "active")
    data = _form(app, family)
    first = staff.post("/deliveries/new", data=data, headers=JSON)
    second = staff.post("/deliveries/new", data=data, headers=JSON)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    assert first.get_json()["url"] == f"/deliveries/{first.get_json()['id']}"
    assert staff.post("/deliveries/new", data=data).status_code == 302
    assert len(_deliveries(app)) == 1
    # The same key with different data is a conflict, not a second delivery.
    r = staff.post("/deliveries/new", data={**data, "quantity": "10"}, headers=JSON)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "idempotency_key_reused"


def test_suspected_double_delivery_is_flagged_not_dropped(app, staff, family):
    agreement_in_state(app, family, "active")
    staff.post("/deliveries/new", data=_form(app, family, quantity="100"))
    r = staff.post("/deliveries/new", data=_form(app, family, quantity="100",
                                                 item="plantones de café CATURRA"))
    assert r.status_code == 302
    first, second = _deliveries(app)
    assert second.suspected_duplicate_of_id == first.id
    assert first.suspected_duplicate_of_id is None
    assert "ya se entregó" in staff.get(r.headers["Location"]).get_data(as_text=True)
    listing = staff.get("/deliveries/?suspected=1").get_data(as_text=True)
    assert second.code in listing
    assert first.code not in listing
    # Another day is not a double.
    staff.post("/deliveries/new", data=_form(app, family, quantity="100",
                                             delivered_on="2026-03-16"))
    assert _deliveries(app)[-1].suspected_duplicate_of_id is None


def test_reversal_corrects_without_editing_history(app, staff, family):
    agreement_in_state(app, family, "active")
    created = staff.post("/deliveries/new", data=_form(app, family, quantity="400"),
                         headers=JSON).get_json()
    delivery_id = created["id"]
    no_reason = staff.post(f"/deliveries/{delivery_id}/reverse", data={"reason": ""},
                           headers=JSON)
    assert no_reason.status_code == 422
    key = str(uuid.uuid4())
    r = staff.post(f"/deliveries/{delivery_id}/reverse",
                   data={"reason": "Se registró en la familia equivocada", "idempotency_key": key},
                   headers=JSON)
    assert r.status_code == 201
    again = staff.post(f"/deliveries/{delivery_id}/reverse",
                       data={"reason": "Se registró en la familia equivocada",
                             "idempotency_key": key}, headers=JSON)
    assert again.status_code == 200
    assert again.get_json()["id"] == r.get_json()["id"]
    original, reversal = _deliveries(app)
    assert (original.quantity, original.reverses_id, original.version) == (400, None, 1)
    assert reversal.reverses_id == original.id
    assert reversal.quantity == 400
    assert reversal.signed_quantity == -400
    # Reversing twice, or reversing the reversal, is refused.
    twice = staff.post(f"/deliveries/{delivery_id}/reverse", data={"reason": "otra vez"},
                       headers=JSON)
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "reversal_refused"
    back = staff.post(f"/deliveries/{reversal.id}/reverse", data={"reason": "x"}, headers=JSON)
    assert back.status_code == 409
    # Promised vs delivered counts the reversal: nothing delivered any more.
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "anulada" in page
    # The full 1,000 can be delivered again without confirmation.
    assert staff.post("/deliveries/new", data=_form(app, family, quantity="1000",
                                                    delivered_on="2026-05-01"),
                      headers=JSON).status_code == 201
    listing = staff.get(f"/deliveries/?family={family}").get_data(as_text=True)
    assert listing.count("<tr") == 4  # header + original + reversal + new one


def test_reversal_allowed_even_when_suspended(app, staff, family):
    agreement_id = agreement_in_state(app, family, "active")
    delivery_id = staff.post("/deliveries/new", data=_form(app, family),
                             headers=JSON).get_json()["id"]
    coordinator = login(app, "coordinator")
    coordinator.post(f"/agreements/{agreement_id}/status",
                     data={"to": "suspended", "reason": "Caza"})
    r = staff.post(f"/deliveries/{delivery_id}/reverse", data={"reason": "Error de registro"},
                   headers=JSON)
    assert r.status_code == 201


def test_lists_per_family_and_per_community(app, staff, family, make_family, make_community):
    other_community = make_community(code="C301", name="Nuevo Edén")
    other = make_family(community_id=other_community, head_given_names="Julio",
                        head_surname="Vela Ríos")
    agreement_in_state(app, family, "active")
    agreement_in_state(app, other, "active")
    staff.post("/deliveries/new", data=_form(app, family, item="Entrega de Aguas Verdes"))
    staff.post("/deliveries/new", data=_form(app, other, item="Entrega de Nuevo Edén"))
    with app.app_context():
        from fieldapp.families.models import Family

        community_id = db.session.get(Family, family).community_id
    by_community = staff.get(f"/deliveries/?community={community_id}").get_data(as_text=True)
    assert "Entrega de Aguas Verdes" in by_community
    assert "Entrega de Nuevo Edén" not in by_community
    by_family = staff.get(f"/deliveries/?family={other}").get_data(as_text=True)
    assert "Entrega de Nuevo Edén" in by_family
    assert "Entrega de Aguas Verdes" not in by_family
    everything = staff.get("/deliveries/").get_data(as_text=True)
    assert "Entrega de Nuevo Edén" in everything
    assert "Entrega de Aguas Verdes" in everything


def test_scope_and_login(app, family, make_community, client):
    agreement_in_state(app, family, "active")
    make_community(code="C999", name="Lejana")
    outsider = login(app, "field_staff", "lejano", communities=("C999",))
    assert outsider.get(f"/deliveries/new?family={family}").status_code == 403
    assert outsider.post("/deliveries/new", data=_form(app, family)).status_code == 403
    assert client.post("/deliveries/new", data=_form(app, family),
                       headers=JSON).status_code == 401
    with app.app_context():
        from fieldapp.deliveries.models import Delivery

        assert db.session.scalar(select(func.count(Delivery.id))) == 0


def test_receipt_signature_image_is_shown_only_within_scope(app, staff, family,
                                                            make_community):
    """The receipt's signature image is served by the agreement views, which load the delivery
    through the loader deliveries registers (audit/subjects.py) to check the family's scope."""
    agreement_in_state(app, family, "active")
    assert staff.post("/deliveries/new", data=_form(app, family)).status_code == 302
    with app.app_context():
        from fieldapp.agreements.models import Signature

        sig_id = db.session.execute(select(Signature.id).where(
            Signature.delivery_id.is_not(None))).scalar_one()
    img = staff.get(f"/agreements/signatures/{sig_id}.png")
    assert (img.status_code, img.mimetype) == (200, "image/png")
    make_community(code="C999", name="Lejana")
    outsider = login(app, "field_staff", "lejano", communities=("C999",))
    assert outsider.get(f"/agreements/signatures/{sig_id}.png").status_code == 403


def test_delivery_form_in_english(app, staff, family):
    agreement_in_state(app, family, "active")
    staff.post("/auth/language/en", data={"next": "/"})
    page = staff.get(f"/deliveries/new?family={family}").get_data(as_text=True)
    assert "Record a delivery" in page
    assert "Thumbprint on the paper receipt" in page
    assert "Coffee seedlings" in page


def test_demo_reversals_and_suspensions_show(demo_app):
    """The demo program has reversals and suspended agreements that refuse deliveries."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.deliveries.models import Delivery

    with demo_app.app_context():
        reversal = db.session.execute(
            select(Delivery).where(Delivery.reverses_id.is_not(None)).limit(1)).scalar_one()
        suspended = db.session.execute(
            select(Agreement).where(Agreement.status == "suspended").limit(1)).scalar_one()
        reversal_id, original_code = reversal.id, reversal.reverses.code
        suspended_family = suspended.family_id
        signed_receipt = db.session.execute(
            select(Delivery.id).where(Delivery.receipt_kind == "signature").limit(1)).scalar_one()
    client = login(demo_app, "coordinator")
    page = client.get(f"/deliveries/{reversal_id}").get_data(as_text=True)
    assert "anulación" in page
    assert original_code in page
    receipt = client.get(f"/deliveries/{signed_receipt}").get_data(as_text=True)
    image_url = receipt.split('class="signature"><img src="')[1].split('"')[0]
    assert client.get(image_url).mimetype == "image/png"
    r = client.post("/deliveries/new", data={
        "family_id": str(suspended_family), "benefit_type_id": str(catalogue(demo_app)[1][
            "medical_kit"]), "quantity": "1", "delivered_on": "2026-10-30",
        "delivered_by_name": "x", "receipt_kind": "thumbprint_paper"}, headers=JSON)
    assert r.status_code == 409
    assert r.get_json()["error"]["details"]["reason"] == "suspended"


def test_conflict_screen_reverses_a_double_through_the_deliveries_rules(app_factory,
                                                                        make_family):
    """"A double: record a reversal" on central's conflict screen is the deliveries' reversal:
    audited, and refused (shown, nothing written) for a delivery already reversed."""
    from fieldapp.audit.models import AuditEntry
    from fieldapp.deliveries.models import Delivery
    from fieldapp.models import utcnow
    from fieldapp.nodes.models import SYNC_TABLES

    central = app_factory(ROLE="central")
    seed(central)
    with central.test_request_context():
        from fieldapp.communities.models import Community
        from fieldapp.families.operations import create_family

        community = Community(code="C300", name="Aguas Verdes")
        db.session.add(community)
        db.session.flush()
        family = create_family({"community_id": community.id, "head_given_names": "María",
                                "head_surname": "Huamán", "members_count": 3}).id
        db.session.commit()
    agreement_in_state(central, family, "active")
    staff = login(central, "field_staff")
    for day in ("2026-03-15", "2026-03-16", "2026-03-17"):
        assert staff.post("/deliveries/new",
                          data=_form(central, family, delivered_on=day)).status_code == 302
    first, second, third = _deliveries(central)
    coordinator = login(central, "coordinator")
    assert coordinator.post(f"/deliveries/{second.id}/reverse", data={
        "reason": "Error de registro", "idempotency_key": str(uuid.uuid4())}).status_code == 302
    c = SYNC_TABLES.conflicts
    with central.app_context():
        ids = [db.session.execute(c.insert().values(
            kind="double_delivery", table_name="benefit_deliveries", row_id=row.id,
            other_row_id=first.id, status="open", created_at=utcnow(), updated_at=utcnow(),
        )).inserted_primary_key[0] for row in (second, third)]
        db.session.commit()

    def reversals_of(delivery_id):
        return [d for d in _deliveries(central) if d.reverses_id == delivery_id]

    refused = coordinator.post(f"/nodes/conflicts/{ids[0]}", data={"choice": "double"})
    assert refused.status_code == 422
    assert "ya fue anulada" in refused.get_data(as_text=True)
    assert len(reversals_of(second.id)) == 1
    done = coordinator.post(f"/nodes/conflicts/{ids[1]}", data={"choice": "double"})
    assert done.status_code == 302
    [reversal] = reversals_of(third.id)
    assert reversal.delivered_by_name == "Test coordinator"
    with central.app_context():
        assert db.session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == reversal.id, AuditEntry.action == "reverse")).first()
        assert db.session.get(Delivery, third.id).reverses_id is None


def _quantity_shown(page: str) -> str:
    """The quantity cell of a delivery's detail page (its ``<dd>`` after "Quantity")."""
    import re

    found = re.search(r"<dt>(?:Cantidad|Quantity)</dt><dd>([^<]*)</dd>", page)
    assert found, page[:2000]
    return found.group(1)


def test_a_quantity_shows_its_unit_in_the_right_number_and_language(app, staff, family):
    """ "1 kit" and "3 kits", never "1 kits"; in English too; the record keeps "kits"."""
    agreement = agreement_in_state(app, family, "active",
                                   benefits={"school_kits": "6", "medical_kit": "1"})
    _, benefits = catalogue(app)
    urls = {}
    for quantity in ("1", "3"):
        r = staff.post("/deliveries/new", data=_form(
            app, family, benefit_type_id=str(benefits["school_kits"]), item="Kit escolar",
            quantity=quantity, unit="kits"))
        assert r.status_code == 302
        urls[quantity] = r.headers["Location"]
    assert {d.unit for d in _deliveries(app)} == {"kits"}  # stored as typed
    assert _quantity_shown(staff.get(urls["1"]).get_data(as_text=True)) == "1 kit"
    assert _quantity_shown(staff.get(urls["3"]).get_data(as_text=True)) == "3 kits"
    # The agreement promises 1 first-aid kit: "1 botiquín", not "1 botiquines".
    detail = staff.get(f"/agreements/{agreement}").get_data(as_text=True)
    assert "1 botiquín<" in detail
    assert "1 botiquines" not in detail
    family_page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "1 kits" not in family_page
    assert "1 kit<" in family_page
    # Asking to confirm more than promised names the promise in the right number too.
    r = staff.post("/deliveries/new", data=_form(
        app, family, benefit_type_id=str(benefits["medical_kit"]), item="Botiquín",
        quantity="2", unit="botiquines"), headers=JSON)
    assert r.get_json()["error"]["code"] == "over_promise"
    assert "permite 1 botiquín de este beneficio" in r.get_json()["error"]["message"]

    staff.post("/auth/language/en", data={"next": "/"})
    assert _quantity_shown(staff.get(urls["1"]).get_data(as_text=True)) == "1 kit"
    assert _quantity_shown(staff.get(urls["3"]).get_data(as_text=True)) == "3 kits"
    detail = staff.get(f"/agreements/{agreement}").get_data(as_text=True)
    assert "1 first-aid kit<" in detail


def test_a_unit_typed_by_hand_is_shown_as_typed(app, family):
    """Free text that is no catalogue unit ("cajas") is not guessed at; 1.5 takes the plural."""
    from fieldapp.agreements.catalogue import quantity_with_unit
    from fieldapp.formatting import quantity_with_unit as rule

    with app.test_request_context():
        assert quantity_with_unit(1, "cajas", "es") == "1 cajas"
        assert quantity_with_unit(1, "Botiquines", "es") == "1 botiquín"
        assert quantity_with_unit(2, "botiquín", "en") == "2 first-aid kits"
        assert rule(1.5, "kits", "es", ()) == "1,5 kits"
        from decimal import Decimal

        from fieldapp.agreements.models import BenefitType

        kits = db.session.execute(select(BenefitType).where(BenefitType.code == "school_kits")
                                  ).scalar_one()
        assert quantity_with_unit(Decimal("1.00"), kits, "es") == "1 kit"
        assert quantity_with_unit(Decimal("1.5"), kits, "en") == "1.5 kits"
