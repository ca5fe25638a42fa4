# ruff: noqa: S603, S607 - a fixed poppler command (pdftoppm renders the receipt)
"""A promotor's day on an 800×1280 tablet in Chromium, in Spanish, offline from after login:
register a family, draft its agreement and sign it on the tablet (both pads), hand out a
benefit against a signed receipt to a family whose agreement is active, visit it; back online,
everything reaches the node once, in order; then print the receipt. Activation stays a
coordinator's act on the node: the sign page says so.

Records made offline carry the id the tablet gave them, so the draft can name its family and
the signature its draft before the node knows either; an item naming a record whose own item
the node refused is held on the tablet, with the reason, never dropped."""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pwa_support import (
    LiveServer,
    demo_node,
    draw,
    fill_family,
    login_and_prepare,
    outbox,
    page_of,
    poll,
    screenshot,
    submit,
    tablet_context,
    wait_outbox_empty,
)
from pypdf import PdfReader
from sqlalchemy import func, select

from fieldapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def node(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[LiveServer]:
    """A field node holding the demo program, CSRF on, served on 127.0.0.1."""
    with demo_node(tmp_path_factory.mktemp("day-node"), demo_db, "DAY",
                   "00000000-0000-0000-0000-00000000da1", replay_ms=2000) as server:
        yield server


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[Any]:
    with tablet_context(tmp_path / "tablet") as context:
        yield context


def _saved(page: Any) -> None:
    page.wait_for_selector(".pwa-saved")
    assert "Guardado en esta tableta" in page.inner_text(".pwa-saved")


def _go_online(node: LiveServer, tablet: Any, page: Any) -> None:
    """Connection back: the outbox empties (the page's replay loop sends it)."""
    tablet.set_offline(False)
    try:
        wait_outbox_empty(page, 30000)
    except AssertionError:
        raise AssertionError(f"left in the outbox: {_items(page)}") from None


def _items(page: Any) -> list[dict[str, Any]]:
    """The outbox with what the hold needs: the record each item makes, and why it waits."""
    return page.evaluate(
        "FieldappOutbox.listItems().then(items => items.map(i => ({seq: i.seq, kind: i.kind,"
        " status: i.status, record: FieldappOutbox.recordOf(i), held: i.held || null,"
        " error: i.last_error})))")


def _draft_offline(page: Any, surname: str) -> None:
    """The draft form stored on the tablet, for the family just registered (still in the
    outbox): the family picker finds it among the families not sent yet."""
    page.click(".pwa-saved-next")  # "Redactar su acuerdo"
    page.wait_for_selector("form[data-outbox='agreement'][data-outbox-ready='1']")
    page.wait_for_selector(".family-picker-chosen:not([hidden])")
    assert surname in page.inner_text(".family-picker-chosen")
    assert "aún no enviada" in page.inner_text(".family-picker-chosen")
    # The picker's search sees it too (a promotor may open the form from the menu).
    page.click(".family-picker-chosen button.link")
    page.fill(".family-picker-search", surname)
    page.wait_for_selector(".family-picker-results button.pick")
    page.click(".family-picker-results button.pick")
    assert page.is_checked("input[name=starts_on_signing]")
    assert "El acuerdo impreso dirá" in page.inner_text("#period-hint")
    assert page.locator("input[name=commitments]:checked").count() >= 3
    page.locator(".benefits-table input[inputmode=decimal]").first.fill("1")


def _active_family(page: Any) -> str:
    """A family whose agreement is active in what the tablet holds (demo data)."""
    return page.evaluate(
        "FieldappOutbox.getAll('agreements').then(rows => rows.filter(a => a.status === 'active')"
        ".sort((a, b) => a.number < b.number ? -1 : 1)[0].family_id)")


def test_a_promotors_day_offline_reaches_the_node_exactly_once(node: LiveServer, tablet: Any,
                                                                  tmp_path: Path) -> None:
    from fieldapp.agreements.models import Agreement, Signature
    from fieldapp.agreements.signing import verify_content
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family

    surname = f"Tapullima {uuid.uuid4().hex[:5]}"
    note = f"Visita del día {uuid.uuid4().hex[:5]}"
    item = f"Plantones de café {uuid.uuid4().hex[:5]}"
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    assert page.evaluate("document.documentElement.lang") == "es"
    tablet.set_offline(True)

    # 1. A new family, registered offline, under an id the tablet made.
    page.goto(node.url + "/families/new")
    fill_family(page, "Rosa", surname)
    screenshot(page, "day-01-family-offline")
    submit(page)
    _saved(page)
    [family_item] = _items(page)
    family_id = family_item["record"]
    assert uuid.UUID(family_id)

    # 2. Its agreement drafted offline: the family is still in the outbox.
    _draft_offline(page, surname)
    screenshot(page, "day-02-draft-offline")
    submit(page)
    _saved(page)
    draft = _items(page)[1]
    assert draft["kind"] == "agreement"

    # 3. Signed on the tablet, offline: the sign page shows the draft from what the tablet
    # holds, says who activates it, and takes both signatures on the pads.
    page.click(".pwa-saved-next")  # "Firmarlo ahora"
    page.wait_for_selector("form[data-offline-sign]:not([hidden])[data-outbox-ready='1']")
    assert surname in page.inner_text("#offline-draft")
    assert page.locator(".offline-draft-commitments li").count() >= 3
    assert page.locator(".offline-draft-benefits li").count() == 1
    # One of it, in the singular, as the node prints it ("1 kit", never "1 kits").
    promised = page.inner_text(".offline-draft-benefits li")
    with node.app.app_context():
        from fieldapp.agreements.models import BenefitType

        [unit] = [b for b in db.session.scalars(select(BenefitType)) if b.name_es in promised]
        assert f": 1 {unit.unit_one_es}" in promised, promised
    assert "un coordinador activa el acuerdo en el nodo" in page.inner_text("#activation-note")
    assert page.input_value("#family_name") == f"Rosa {surname}"
    for field in ("family_signature", "staff_signature"):
        # The page is longer than the screen: touches go to what is in view.
        page.locator(f".sigpad[data-target={field}] canvas").scroll_into_view_if_needed()
        draw(page, f".sigpad[data-target={field}]")
        assert page.input_value(f"#{field}").startswith("data:image/png")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "day-03-signature-offline")
    submit(page)
    _saved(page)

    # 4. A delivery, signed for on the tablet, to a family whose agreement is active in what
    # the tablet holds; then the compliance visit.
    active = _active_family(page)
    page.goto(node.url + "/deliveries/new?family=" + active)
    page.wait_for_selector("form[data-outbox='delivery'][data-outbox-ready='1']")
    page.wait_for_selector(".family-picker-chosen:not([hidden])")
    options = page.eval_on_selector_all("#benefit_type_id option", "os => os.map(o => o.value)")
    page.select_option("#benefit_type_id", [v for v in options if v][0])
    page.fill("#item", item)
    page.fill("#quantity", "1")
    draw(page, "form[data-outbox='delivery'] .sigpad")
    screenshot(page, "day-04-delivery-offline")
    submit(page)
    _saved(page)

    page.goto(node.url + "/compliance/visits/new?family=" + active)
    page.wait_for_selector("form[data-outbox='visit'][data-outbox-ready='1']")
    page.wait_for_selector("[data-visit-findings] .finding")
    page.click("[data-visit-findings] .finding:first-child .seg-met")
    page.fill("#notes", note)
    screenshot(page, "day-05-visit-offline")
    submit(page)
    _saved(page)
    assert [i["kind"] for i in _items(page)] == [
        "family", "agreement", "agreement-signature", "delivery", "visit"]
    # The queued signature says when it was drawn, by the tablet's clock (the node dates the
    # agreement by it, not by when the form arrives).
    drawn_at = page.evaluate(
        "FieldappOutbox.listItems().then(items => items.filter(i => i.kind === "
        "'agreement-signature')[0].fields.filter(p => p[0] === 'drawn_at')[0][1])")
    assert abs((datetime.fromisoformat(drawn_at) - datetime.now(UTC)).total_seconds()) < 600

    # 5. Back online: everything reaches the node once, in order, under the tablet's ids.
    _go_online(node, tablet, page)
    with node.app.app_context():
        fid = uuid.UUID(family_id)
        families = db.session.execute(
            select(Family).where(Family.head_surname == surname)).scalars().all()
        assert [f.id for f in families] == [fid]
        agreements = db.session.execute(
            select(Agreement).where(Agreement.family_id == fid)).scalars().all()
        assert [a.id for a in agreements] == [uuid.UUID(draft["record"])]
        agreement = agreements[0]
        assert agreement.status == "signed"  # a coordinator activates it on the node
        assert agreement.signed_at is not None
        assert verify_content(agreement)
        assert families[0].created_at <= agreement.created_at  # arrived in order
        # Dated when it was drawn on the tablet, before the node received it.
        assert agreement.signed_at == datetime.fromisoformat(drawn_at) <= agreement.created_at
        signatures = db.session.execute(select(Signature).where(
            Signature.agreement_id == agreement.id)).scalars().all()
        assert sorted(s.signer_role for s in signatures) == ["family", "staff"]
        assert all(s.image_png for s in signatures)  # drawn on the pads, not on paper
        deliveries = db.session.execute(
            select(Delivery).where(Delivery.item == item)).scalars().all()
        assert len(deliveries) == 1
        assert str(deliveries[0].family_id) == active
        assert deliveries[0].receipt_kind == "signature"
        assert db.session.scalar(select(func.count(Signature.id)).where(
            Signature.delivery_id == deliveries[0].id, Signature.image_png.is_not(None))) == 1
        assert db.session.scalar(select(func.count(ComplianceVisit.id)).where(
            ComplianceVisit.notes == note)) == 1
        delivery_id = str(deliveries[0].id)
        receiver = db.session.get(Family, deliveries[0].family_id).head_surname
    assert outbox(page) == []
    poll(page, "document.querySelector('#pwa-badge').dataset.state === 'online'")

    # 6. The receipt: the delivery page's link to its PDF, rendered as a printer would.
    page.goto(node.url + f"/deliveries/{delivery_id}")
    link = page.locator(".print-links a")
    assert "Imprimir recibo (PDF)" in link.inner_text()
    response = page.request.get(node.url + link.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"].startswith("application/pdf")
    pdf = response.body()
    assert pdf.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert item in text
    assert receiver in text
    (tmp_path / "receipt.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-gray", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "receipt.pdf"), str(tmp_path / "receipt")], check=True)
    with Image.open(tmp_path / "receipt.pgm") as printed:
        assert printed.width > 300
        assert printed.getextrema()[0] < 64  # ink on the page, not a blank sheet


def test_a_refused_family_holds_its_agreement_on_the_tablet_until_corrected(
        node: LiveServer, tablet: Any) -> None:
    """The family's registration is refused (a DNI another family holds): its draft, queued
    after it, is held with the reason on the outbox page, never sent or dropped; once the
    family is corrected and accepted, the draft follows."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.families.models import Family

    with node.app.app_context():
        taken_dni = db.session.scalar(select(Family.dni).where(Family.dni.is_not(None)).limit(1))
    surname = f"Sangama {uuid.uuid4().hex[:5]}"
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    tablet.set_offline(True)
    page.goto(node.url + "/families/new")
    fill_family(page, "Elmer", surname, dni=taken_dni)
    # The tablet's own data knows that DNI: it warns before saving (a certain duplicate); the
    # promotor insists ("another family"), and the node, which never takes one DNI twice,
    # refuses the registration when it arrives.
    page.wait_for_selector("#offline-duplicates:not([hidden])")
    page.check("#confirm_not_duplicate")
    submit(page)
    _saved(page)
    _draft_offline(page, surname)
    submit(page)
    _saved(page)
    family_item, draft = _items(page)

    tablet.set_offline(False)
    page.goto(node.url + "/pwa/outbox")
    poll(page, "document.querySelector('#outbox-items li[data-kind=agreement] .outbox-held')"
               " !== null", 30000)
    items = _items(page)
    assert [(i["kind"], i["status"]) for i in items] == [("family", "rejected"),
                                                         ("agreement", "waiting")]
    assert items[1]["held"]["seq"] == family_item["seq"]
    held = page.inner_text("#outbox-items li[data-kind=agreement] .outbox-held")
    assert "En espera" in held
    assert "rechazó" in held
    assert surname in held
    with node.app.app_context():
        assert db.session.get(Agreement, uuid.UUID(draft["record"])) is None

    # Corrected (no DNI), the family is accepted, then its draft.
    page.click("#outbox-items li[data-kind=family] a.button.primary")  # "Corregir"
    page.wait_for_selector("form[data-outbox='family'][data-outbox-seq]")
    assert page.input_value("#dni") == taken_dni
    page.fill("#dni", "")
    with page.expect_navigation():
        submit(page)
    poll(page, "FieldappOutbox.listItems().then(items => items.length === 0)", 30000)
    with node.app.app_context():
        agreement = db.session.get(Agreement, uuid.UUID(draft["record"]))
        assert agreement is not None
        assert agreement.family_id == uuid.UUID(family_item["record"])
        assert agreement.status == "draft"
