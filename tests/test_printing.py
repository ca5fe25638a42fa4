# ruff: noqa: S603, S607, S311 - fixed poppler/zbar commands; seeded randomness for test data
"""Printed agreements and the field's other printouts, read back as a person or a phone would:
PDFs rendered through the app, rasterised with pdftoppm, QR codes decoded, text extracted, and
the QR's URL followed to central's public /verify page."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from pypdf import PdfReader
from pyzbar.pyzbar import decode
from sqlalchemy import select, text, update

from fieldapp.agreements.catalogue import seed_catalogues
from fieldapp.agreements.content import canonical_content, content_hash
from fieldapp.agreements.models import (
    Agreement,
    AgreementBenefit,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
    Signature,
)
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.models import new_id
from fieldapp.trainings.models import TrainingSession

CENTRAL = "https://central.altomayo.example.org"
DEMO_PASSWORD = "fieldapp-demo"


# -- helpers -----------------------------------------------------------------------------------

def pdf_text(pdf: bytes) -> str:
    """The PDF's text, whitespace collapsed (a page total is its own text object)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def poppler_text(pdf: bytes, tmp_path: Path, last_page: int | None = None) -> str:
    """Text by poppler's pdftotext: much faster than pypdf on a batch of hundreds of pages."""
    src = tmp_path / f"text-{uuid.uuid4().hex}.pdf"
    src.write_bytes(pdf)
    pages = ["-l", str(last_page)] if last_page else []
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", *pages, str(src), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def qr_codes(pdf: bytes, tmp_path: Path, page: int = 1, dpi: int = 150,
             grid: tuple[int, int] = (1, 1)) -> list[str]:
    """Rasterise one page with pdftoppm (as a scanner would) and decode its QR codes, one cell
    of a ``grid`` (columns, rows) at a time, as a phone looks at one card of a sheet."""
    src = tmp_path / f"scan-{uuid.uuid4().hex}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                    "-singlefile", str(src), str(src.with_suffix(""))], check=True)
    found = []
    with Image.open(src.with_suffix(".png")) as image:
        columns, rows = grid
        width, height = image.size
        for row in range(rows):
            for col in range(columns):
                cell = image.crop((col * width // columns, row * height // rows,
                                   (col + 1) * width // columns, (row + 1) * height // rows))
                found += [symbol.data.decode() for symbol in decode(cell)]
    return found


def login(client: Any, username: str = "coordinadora") -> None:
    response = client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def central(app_factory: Callable[..., Flask]) -> Flask:
    """Central holding the demo program, with a public URL for QR codes."""
    return app_factory(demo=True, ROLE="central", CENTRAL_PUBLIC_URL=CENTRAL + "/")


@pytest.fixture
def coordinator(central: Flask) -> Any:
    client = central.test_client()
    login(client)
    return client


def first(app: Flask, stmt: Any) -> Any:
    with app.app_context():
        row = db.session.execute(stmt.limit(1)).scalar_one()
        db.session.expunge(row)
        return row


def drawn_agreement(app: Flask) -> Agreement:
    """A signed demo agreement whose family and staff signed on the tablet."""
    return first(app, select(Agreement).join(Signature).where(
        Agreement.status == "active", Signature.image_png.is_not(None)))


def make_agreement(app: Flask, given: str = "María José", surname: str = "Ñahui Pérez",
                   extra_commitments: int = 0, drawn: bool = True,
                   image: bytes | None = b"png", supersedes: Agreement | None = None,
                   status: str = "active",
                   signed_at: datetime = datetime(2025, 12, 20, 15, 0, tzinfo=UTC),
                   benefits: tuple[tuple[str, str, str], ...] | None = None) -> uuid.UUID:
    """A signed agreement built as the signing operation would freeze it (content + hash)."""
    with app.app_context():
        seed_catalogues()
        community = Community(code=f"T{random.randint(100, 999)}", name="Ñuñuya & <Alto>")
        family = Family(community=community, head_given_names=given, head_surname=surname,
                        dni="40123456", code=f"AM-T-{uuid.uuid4().hex[:6]}")
        types = list(db.session.execute(select(CommitmentType)).scalars())
        for n in range(extra_commitments):
            types.append(CommitmentType(code=f"extra{uuid.uuid4().hex[:8]}",
                                        text_es=f"Compromiso adicional número {n + 1}: "
                                                "cuidar el bosque ribereño y la quebrada.",
                                        text_en=f"Extra commitment {n + 1}.", position=100 + n))
        agreement = Agreement(
            number=f"AM-2026-T-{uuid.uuid4().hex[:6]}", family=family, year=2026,
            period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), status=status,
            kind="renewal" if supersedes else "original", version_no=1,
            supersedes_id=supersedes.id if supersedes else None, signed_at=signed_at,
            signed_place="Ñuñuya", signed_on_paper=not drawn,
        )
        agreement.commitments = [
            AgreementCommitment(commitment_type=t, text_es=t.text_es, text_en=t.text_en,
                                position=i) for i, t in enumerate(types)]
        if benefits is None:
            benefit = db.session.execute(select(BenefitType).limit(1)).scalar_one()
            agreement.benefits = [AgreementBenefit(benefit_type=benefit, quantity=Decimal("1000"),
                                                   unit="plantones", schedule="en 4 entregas")]
        else:  # (code, quantity, unit as typed)
            by_code = {b.code: b for b in db.session.execute(select(BenefitType)).scalars()}
            agreement.benefits = [
                AgreementBenefit(benefit_type=by_code[code], quantity=Decimal(quantity),
                                 unit=unit, schedule="", position=n)
                for n, (code, quantity, unit) in enumerate(benefits)]
        if drawn:
            png = _signature_png() if image == b"png" else image
            agreement.signatures = [
                Signature(signer_role=role, signer_name=name, image_png=png,
                          image_sha256=hashlib.sha256(png).hexdigest() if png else None,
                          signed_at=signed_at, place="Ñuñuya")
                for role, name in (("family", family.head_name), ("staff", "Wilmer Tuanama"))]
        # Frozen in the same flush that stores it, as the signing operation does.
        agreement.id, family.id = new_id(), new_id()
        agreement.signed_content = canonical_content(agreement)
        agreement.content_hash = content_hash(agreement.signed_content)
        db.session.add(agreement)
        db.session.commit()
        return agreement.id


def _signature_png() -> bytes:
    out = io.BytesIO()
    image = Image.new("1", (300, 100), 1)
    for x in range(20, 280):
        image.putpixel((x, 50 + (x % 17) - 8), 0)
    image.save(out, format="PNG")
    return out.getvalue()


def get_pdf(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    return response.get_data()


def image_count(pdf: bytes) -> int:
    """Images drawn on the pages (an image stored once and drawn twice counts twice)."""
    count = 0
    for page in PdfReader(io.BytesIO(pdf)).pages:
        xobjects = page["/Resources"].get("/XObject") or {}
        images = [name for name, ref in xobjects.items()
                  if ref.get_object()["/Subtype"] == "/Image"]
        content = page.get_contents().get_data()
        count += sum(content.count(f"{name} Do".encode()) for name in images)
    return count


# -- the agreement PDF and its verification ----------------------------------------------------

def test_printed_agreement_qr_leads_to_valid_verification(central: Flask, coordinator: Any,
                                                         tmp_path: Path) -> None:
    agreement = drawn_agreement(central)
    pdf = get_pdf(coordinator, f"/print/agreements/{agreement.id}.pdf")
    [url] = qr_codes(pdf, tmp_path)
    assert url == f"{CENTRAL}/verify/{agreement.id}/{agreement.content_hash}"

    visitor = central.test_client()  # a phone: no login
    page = visitor.get(url.removeprefix(CENTRAL))
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-verdict="valid"' in body
    assert "Válido: esta es la versión firmada y registrada." in body
    assert agreement.number in body
    assert agreement.signed_content["family"]["head_name"] not in body  # only the initials

    text_es = pdf_text(pdf)
    for commitment in agreement.signed_content["commitments"]:
        assert commitment["text_es"] in text_es
    assert agreement.signed_content["family"]["head_name"] in text_es
    assert "Acuerdo de conservación" in text_es
    assert "Página 1 de 2" in text_es
    assert f"Huella {agreement.content_hash[:16]}" in text_es
    assert image_count(pdf) == 2  # the family's and the staff's drawn signatures


def test_agreement_prints_in_english_on_request(central: Flask, coordinator: Any) -> None:
    agreement = drawn_agreement(central)
    text_en = pdf_text(get_pdf(coordinator, f"/print/agreements/{agreement.id}.pdf?lang=en"))
    assert "Conservation agreement" in text_en
    assert "Page 1 of 2" in text_en
    for commitment in agreement.signed_content["commitments"]:
        assert commitment["text_en"] in text_en
        assert commitment["text_es"] not in text_en


def test_agreement_pdf_says_1_botiquin_and_still_verifies(central: Flask,
                                                        coordinator: Any) -> None:
    """Units are shown by quantity when printed ("1 botiquín", "3 kits"); the signed content
    keeps the text as typed, so the printed copy's hash still verifies."""
    agreement_id = make_agreement(central, benefits=(("medical_kit", "1", "botiquines"),
                                                     ("school_kits", "3", "kits")))
    agreement = first(central, select(Agreement).where(Agreement.id == agreement_id))
    assert [b["unit"] for b in agreement.signed_content["benefits"]] == ["botiquines", "kits"]
    text_es = pdf_text(get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf"))
    assert "1 botiquín" in text_es
    assert "1 botiquines" not in text_es
    assert "3 kits" in text_es
    text_en = pdf_text(get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf?lang=en"))
    assert "1 first-aid kit " in text_en
    assert "3 kits" in text_en
    page = central.test_client().get(f"/verify/{agreement_id}/{agreement.content_hash}")
    assert 'data-verdict="valid"' in page.get_data(as_text=True)


def test_receipt_says_1_botiquin(central: Flask, coordinator: Any) -> None:
    """The delivery receipt shows the unit by quantity, in the printing language."""
    delivery = first(central, select(Delivery).where(Delivery.reverses_id.is_(None))
                     .order_by(Delivery.code))
    with central.app_context():  # as recorded with the unit typed in the plural
        db.session.execute(update(Delivery).where(Delivery.id == delivery.id)
                           .values(quantity=Decimal(1), unit="botiquines"))
        db.session.commit()
    receipt = pdf_text(get_pdf(coordinator, f"/print/deliveries/{delivery.id}/receipt.pdf"))
    assert "1 botiquín" in receipt
    assert "1 botiquines" not in receipt
    english = pdf_text(get_pdf(coordinator,
                               f"/print/deliveries/{delivery.id}/receipt.pdf?lang=en"))
    assert "1 first-aid kit" in english


def test_accents_markup_and_long_names_print_literally_and_break_cleanly(
        central: Flask, coordinator: Any) -> None:
    given = "Ñusta <b>Ana</b> & Co " + "Quispe" * 12
    surname = "Pérez-Huamán &amp; <i>López</i> " + "Á" * 40
    agreement_id = make_agreement(central, given=given, surname=surname, extra_commitments=45)
    pdf = get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf")
    pages = page_count(pdf)
    assert pages >= 3
    flat = re.sub(r"\s+", "", pdf_text(pdf))  # long names wrap: compare without line breaks
    assert re.sub(r"\s+", "", f"{given} {surname}") in flat
    assert "Ñuñuya&<Alto>" in flat
    for n in (1, 23, 45):
        assert f"Compromisoadicionalnúmero{n}:" in flat
    assert f"Página{pages}de{pages}" in flat


def test_missing_signature_image_prints_a_blank_line(central: Flask, coordinator: Any) -> None:
    agreement_id = make_agreement(central, image=None)
    pdf = get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf")
    assert image_count(pdf) == 0
    text_es = pdf_text(pdf)
    assert "María José Ñahui Pérez" in text_es
    assert "Wilmer Tuanama" in text_es
    # A corrupted image (not the one frozen at signing) is not printed either.
    broken = make_agreement(central, image=b"\x89PNG not an image")
    assert image_count(get_pdf(coordinator, f"/print/agreements/{broken}.pdf")) == 0


def test_signing_date_is_the_day_in_peru(central: Flask, coordinator: Any) -> None:
    # 1:30 a.m. UTC on 2 January is 8:30 p.m. on 1 January in Lima.
    agreement_id = make_agreement(central, signed_at=datetime(2026, 1, 2, 1, 30, tzinfo=UTC))
    printed = pdf_text(get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf"))
    assert "Firmado en Ñuñuya, el 1 de enero de 2026." in printed


def test_paper_signed_agreement_has_ink_lines_and_draft_is_marked(central: Flask,
                                                                  coordinator: Any) -> None:
    paper = first(central, select(Agreement).where(Agreement.status == "active",
                                                   Agreement.signed_on_paper.is_(True)))
    pdf = get_pdf(coordinator, f"/print/agreements/{paper.id}.pdf")
    assert image_count(pdf) == 0
    assert "Firma o huella digital" in pdf_text(pdf)
    draft = first(central, select(Agreement).where(Agreement.status == "draft"))
    draft_pdf = get_pdf(coordinator, f"/print/agreements/{draft.id}.pdf")
    assert "BORRADOR — SIN VALOR" in pdf_text(draft_pdf)
    assert "/verify/" not in pdf_text(draft_pdf)


def test_tampered_agreement_says_not_matching(central: Flask, coordinator: Any,
                                              tmp_path: Path) -> None:
    agreement_id = make_agreement(central)
    [url] = qr_codes(get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf"), tmp_path)
    visitor = central.test_client()
    path = url.removeprefix(CENTRAL)
    assert 'data-verdict="valid"' in visitor.get(path).get_data(as_text=True)
    with central.app_context():  # someone edits a name in the signed text, in the database
        row = {"id": agreement_id.hex}
        stored = db.session.execute(
            text("SELECT signed_content FROM agreements WHERE id = :id"), row).scalar_one()
        content = json.loads(stored)
        content["family"]["head_name"] = "Mario José Ñahui Pérez"
        changed = db.session.execute(
            text("UPDATE agreements SET signed_content = :c WHERE id = :id"),
            row | {"c": json.dumps(content)})
        assert changed.rowcount == 1
        db.session.commit()
    page = visitor.get(path, headers={"Accept-Language": "en"})
    body = page.get_data(as_text=True)
    assert 'data-verdict="not_matching"' in body
    assert "Not matching: this copy may have been altered." in body
    assert "M. J." not in body  # nothing but the number is shown for an altered record

    with central.app_context():  # a damaged record still prints what there is, never a 500
        db.session.execute(text("UPDATE agreements SET signed_content = :c WHERE id = :id"),
                           row | {"c": json.dumps({"number": "AM-ROTO", "family": "?"})})
        db.session.commit()
    damaged = get_pdf(coordinator, f"/print/agreements/{agreement_id}.pdf")
    assert "AM-ROTO" in pdf_text(damaged)
    assert 'data-verdict="not_matching"' in visitor.get(path).get_data(as_text=True)


def test_forged_hash_in_the_url_says_not_matching(central: Flask) -> None:
    agreement = drawn_agreement(central)
    forged = "0" * 64
    body = central.test_client().get(f"/verify/{agreement.id}/{forged}").get_data(as_text=True)
    assert 'data-verdict="not_matching"' in body


def test_superseded_and_unknown_verdicts(central: Flask) -> None:
    renewal = first(central, select(Agreement).where(Agreement.kind == "renewal",
                                                     Agreement.status == "active"))
    with central.app_context():
        previous = db.session.get(Agreement, renewal.supersedes_id)
        old_path = f"/verify/{previous.id}/{previous.content_hash}"
    visitor = central.test_client()
    body = visitor.get(old_path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-verdict="superseded"' in body
    assert f"Current version: {renewal.number}." in body

    draft = first(central, select(Agreement).where(Agreement.status == "draft"))
    for path in (f"/verify/{uuid.uuid4()}/{'a' * 64}", "/verify/not-a-uuid/xyz",
                 f"/verify/{draft.id}/{'a' * 64}"):
        page = visitor.get(path, headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert 'data-verdict="unknown"' in page.get_data(as_text=True)

    as_json = visitor.get(f"/verify/{renewal.id}/{renewal.content_hash}",
                          headers={"Accept": "application/json"}).get_json()
    assert as_json["verdict"]["status"] == "valid"
    assert as_json["verdict"]["period_start"] == "2026-01-01"


def _mid_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the rate limiter's clock 30 s into a window: requests that straddled a minute
    boundary were counted in two windows, and the last one was let through (seen in CI)."""
    import types

    from fieldapp import ratelimit

    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: 1_800_000_030.0))


def test_verification_is_rate_limited_across_workers(app_factory: Callable[..., Flask],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _mid_window(monkeypatch)
    worker_1 = app_factory(demo=True, ROLE="central", VERIFY_RATE_LIMIT=3)
    # A second worker process of the same central: same database, its own memory.
    worker_2 = app_factory(ROLE="central", VERIFY_RATE_LIMIT=3,
                           SQLALCHEMY_DATABASE_URI=worker_1.config["SQLALCHEMY_DATABASE_URI"])
    path = f"/verify/{uuid.uuid4()}/{'b' * 64}"
    assert worker_1.test_client().get(path).status_code == 200
    assert worker_2.test_client().get(path).status_code == 200
    assert worker_1.test_client().get(path).status_code == 200
    refused = worker_2.test_client().get(path)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    other_client = worker_1.test_client().get(path, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_client.status_code == 200


def test_verify_page_lives_on_central_only(demo_app: Flask) -> None:
    agreement = drawn_agreement(demo_app)
    path = f"/verify/{agreement.id}/{agreement.content_hash}"
    assert demo_app.test_client().get(path).status_code == 404


# -- batches -----------------------------------------------------------------------------------

def test_community_batch_has_every_agreement_and_the_right_page_count(
        central: Flask, coordinator: Any, tmp_path: Path) -> None:
    with central.app_context():  # the smallest community keeps the test quick
        community = db.session.execute(
            select(Community).join(Family).group_by(Community.id)
            .order_by(db.func.count(Family.id), Community.code)).scalars().first()
        code = community.code
        ids = list(db.session.execute(
            select(Agreement.id).join(Family).where(
                Family.community_id == community.id,
                Agreement.status.in_(("signed", "active", "suspended")))).scalars())
    assert len(ids) >= 2
    expected_pages = sum(page_count(get_pdf(coordinator, f"/print/agreements/{i}.pdf"))
                         for i in ids)
    with coordinator.get(f"/print/agreements.pdf?community={code}") as response:
        assert response.is_streamed
        batch = response.get_data()
    assert page_count(batch) == expected_pages
    # Each agreement numbers its own pages: "Página 1 de 2", "Página 2 de 2", "Página 1 de 2"...
    first_pages = poppler_text(batch, tmp_path, last_page=6)
    assert re.findall(r"Página (\d) de (\d)", first_pages)[:3] == [("1", "2"), ("2", "2"),
                                                                    ("1", "2")]
    assert len(qr_codes(batch, tmp_path, page=3)) == 1  # the second agreement's QR

    # The CLI, rendering in two worker processes: last year's agreements (fewer, quicker).
    with central.app_context():
        last_year = list(db.session.execute(select(Agreement.id).join(Family).where(
            Family.community_id == community.id, Agreement.year == 2025)).scalars())
    assert last_year
    out = tmp_path / "batch.pdf"
    result = central.test_cli_runner().invoke(args=[
        "print", "agreements", "--community", code, "--year", "2025", "--status", "all",
        "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    reported = re.search(r"(\d+) agreements, (\d+) pages", result.output)
    assert reported
    assert int(reported[1]) == len(last_year)
    assert page_count(out.read_bytes()) == int(reported[2]) >= 2 * len(last_year)
    assert not list(tmp_path.glob(".*.part"))  # written through a temporary file


def test_whole_program_batch_is_for_coordinators(central: Flask, tmp_path: Path) -> None:
    promotor = central.test_client()
    login(promotor, "promotor")
    assert promotor.get("/print/agreements.pdf").status_code == 403
    coordinator = central.test_client()
    login(coordinator, "coordinadora")
    with central.app_context():
        drafts = db.session.scalar(select(db.func.count(Agreement.id)).where(
            Agreement.status == "draft"))
    assert drafts >= 2
    batch = get_pdf(coordinator, "/print/agreements.pdf?status=draft")
    assert poppler_text(batch, tmp_path).count("BORRADOR — SIN VALOR Este documento") == drafts


# -- bad input and access ----------------------------------------------------------------------

@pytest.mark.parametrize(("url", "status", "code"), [
    ("/print/agreements.pdf?community=NOPE", 404, "not_found"),
    ("/print/agreements.pdf?community=C001&lang=fr", 422, "invalid"),
    ("/print/agreements.pdf?community=C001&status=everything", 422, "invalid"),
    ("/print/agreements.pdf?community=C001&year=abc", 422, "invalid"),
    ("/print/agreements.pdf?community=C001&year=1200", 422, "invalid"),
    ("/print/agreements.pdf?community=C001&status=draft&year=2031", 404, "not_found"),
    ("/print/agreements.pdf?family=not-a-uuid", 404, "not_found"),
    ("/print/agreements/0b9e3f5c-7d1a-4e2b-9c8f-1a2b3c4d5e6f.pdf", 404, "not_found"),
    ("/print/cards.pdf", 422, "invalid"),
    ("/print/attendance.pdf", 422, "invalid"),
    ("/print/deliveries/777b30f4-a02a-4bcd-8f44-2cb4d2ee6cd2/receipt.pdf", 404, "not_found"),
])
def test_bad_print_requests_get_a_clear_answer(coordinator: Any, url: str, status: int,
                                               code: str) -> None:
    response = coordinator.get(url)
    assert response.status_code == status
    assert f'data-error-code="{code}"' in response.get_data(as_text=True)


def test_printouts_need_a_login_and_respect_community_scope(central: Flask) -> None:
    agreement = drawn_agreement(central)
    anonymous = central.test_client().get(f"/print/agreements/{agreement.id}.pdf")
    assert anonymous.status_code == 302
    assert "/auth/login" in anonymous.headers["Location"]
    with central.app_context():
        from fieldapp.auth.operations import create_user

        family = db.session.get(Family, agreement.family_id)
        other = db.session.execute(select(Community).where(
            Community.id != family.community_id)).scalars().first()
        create_user("scoped", "Promotor de otra zona", DEMO_PASSWORD, "field_staff",
                    (other.code,))
        db.session.commit()
    scoped = central.test_client()
    login(scoped, "scoped")
    assert scoped.get(f"/print/agreements/{agreement.id}.pdf").status_code == 403
    assert scoped.get(f"/print/cards.pdf?family={agreement.family_id}").status_code == 403


# -- the other printouts -----------------------------------------------------------------------

def test_family_qr_cards_hold_the_family_code(central: Flask, coordinator: Any,
                                              tmp_path: Path) -> None:
    family = first(central, select(Family).order_by(Family.code))
    card = get_pdf(coordinator, f"/print/cards.pdf?family={family.id}")
    assert qr_codes(card, tmp_path) == [family.code]
    with central.app_context():
        count = db.session.scalar(select(db.func.count(Family.id)).where(
            Family.community_id == family.community_id))
        code = db.session.get(Community, family.community_id).code
    sheet = get_pdf(coordinator, f"/print/cards.pdf?community={code}")
    assert page_count(sheet) == -(-count // 10)
    with central.app_context():
        first_page = [f.code for f in db.session.execute(
            select(Family).where(Family.community_id == family.community_id)
            .order_by(spanish(Family.head_surname), spanish(Family.head_given_names),
                      Family.code)).scalars()][:10]  # Spanish order (fieldapp.collation)
    assert qr_codes(sheet, tmp_path, grid=(2, 5)) == first_page


def test_attendance_sheet_has_a_row_per_family(central: Flask, coordinator: Any) -> None:
    session = first(central, select(TrainingSession).order_by(TrainingSession.code))
    with central.app_context():
        codes = list(db.session.execute(select(Family.code).where(
            Family.community_id == session.community_id)).scalars())
    pdf = get_pdf(coordinator, f"/print/trainings/{session.id}/attendance.pdf")
    sheet = pdf_text(pdf)
    assert session.topic in sheet
    assert "Firma o huella digital" in sheet
    assert all(code in sheet for code in codes)
    assert len(re.findall(r"AM-[A-Z0-9]+-\d{4}", sheet)) == len(codes)
    assert f"Página {page_count(pdf)} de {page_count(pdf)}" in sheet


def test_delivery_receipt_to_sign_or_thumbprint(central: Flask, coordinator: Any) -> None:
    # A delivery with no receipt signed on the tablet yet (the demo signs 1 in 20).
    signed_already = select(Signature.id).where(Signature.delivery_id == Delivery.id).exists()
    delivery = first(central, select(Delivery).where(Delivery.reverses_id.is_(None),
                                                     ~signed_already).order_by(Delivery.code))
    pdf = get_pdf(coordinator, f"/print/deliveries/{delivery.id}/receipt.pdf")
    receipt = pdf_text(pdf)
    assert page_count(pdf) == 1
    assert receipt.count(delivery.code) == 2  # the family's copy and the program's
    assert delivery.item in receipt
    assert "Huella digital" in receipt
    assert "Copia para la familia" in receipt
    assert "Copia para el programa" in receipt
    assert image_count(pdf) == 0  # nothing signed yet: lines and a box for the thumb

    png = _signature_png()
    with central.app_context():  # signed on the tablet at the delivery
        db.session.add(Signature(delivery_id=delivery.id, signer_role="receipt",
                                 signer_name="Quien recibe", image_png=png,
                                 image_sha256=hashlib.sha256(png).hexdigest(),
                                 signed_at=datetime(2026, 3, 1, 15, 0, tzinfo=UTC)))
        db.session.commit()
    signed = get_pdf(coordinator, f"/print/deliveries/{delivery.id}/receipt.pdf")
    assert image_count(signed) == 2  # on both copies
    assert len(PdfReader(io.BytesIO(signed)).pages[0].images) == 1  # stored once


# -- building blocks ---------------------------------------------------------------------------

def test_fast_qr_encoder_matches_the_qrcode_package() -> None:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_M
    from qrcode.util import MODE_8BIT_BYTE, QRData

    from fieldapp.printing.qr import MASK_PATTERN, _version_for, qr_matrix

    rng = random.Random(6)
    for error_correction in (ERROR_CORRECT_M, ERROR_CORRECT_H):
        for length in (1, 17, 64, 131, 200):
            data = "".join(rng.choice("abcñá09/:-.XYZ") for _ in range(length))
            raw = data.encode()
            reference = qrcode.QRCode(version=_version_for(len(raw), error_correction),
                                      error_correction=error_correction, border=0,
                                      mask_pattern=MASK_PATTERN)
            reference.add_data(QRData(raw, mode=MODE_8BIT_BYTE))
            reference.make(fit=False)
            assert qr_matrix(data, error_correction) == reference.get_matrix()


def test_stream_writer_refuses_what_it_cannot_join() -> None:
    from fieldapp.printing.stream import PdfFormatError, PdfStreamWriter

    writer = PdfStreamWriter(io.BytesIO())
    with pytest.raises(PdfFormatError):
        writer.append(b"%PDF-1.4\nnot really a pdf")


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg not installed")
def test_qr_reads_with_zbarimg_from_a_low_resolution_scan(central: Flask, coordinator: Any,
                                                          tmp_path: Path) -> None:
    agreement = drawn_agreement(central)
    pdf = tmp_path / "copy.pdf"
    pdf.write_bytes(get_pdf(coordinator, f"/print/agreements/{agreement.id}.pdf"))
    # 100 dpi grey, like a cheap photocopy scanned at low resolution.
    subprocess.run(["pdftoppm", "-r", "100", "-gray", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "copy")], check=True)
    result = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "copy.pgm")],
                            capture_output=True, text=True, check=False)
    assert result.stdout.strip() == f"{CENTRAL}/verify/{agreement.id}/{agreement.content_hash}"


def test_print_page_and_family_page_link_to_the_printouts(central: Flask,
                                                         coordinator: Any) -> None:
    page = coordinator.get("/print/").get_data(as_text=True)
    assert "/print/agreements.pdf?community=C001" in page
    assert "/print/cards.pdf?community=C001" in page
    assert "/print/attendance.pdf?community=C001" in page
    family = first(central, select(Family).order_by(Family.code))
    detail = coordinator.get(f"/families/{family.id}").get_data(as_text=True)
    assert f"/print/agreements.pdf?family={family.id}" in detail
    assert f"/print/cards.pdf?family={family.id}" in detail
    assert "/print/" in coordinator.get("/communities/").get_data(as_text=True)


def test_agreement_delivery_and_training_pages_link_to_their_pdfs(central: Flask,
                                                                   coordinator: Any) -> None:
    """Print from where the work is: each record's page links to its own printout, and the
    link answers a PDF."""
    agreement = drawn_agreement(central)
    delivery = first(central, select(Delivery).order_by(Delivery.code))
    session = first(central, select(TrainingSession).order_by(TrainingSession.code))
    for page, pdf in (
            (f"/agreements/{agreement.id}", f"/print/agreements/{agreement.id}.pdf"),
            (f"/deliveries/{delivery.id}", f"/print/deliveries/{delivery.id}/receipt.pdf"),
            (f"/trainings/{session.id}", f"/print/trainings/{session.id}/attendance.pdf")):
        html = coordinator.get(page).get_data(as_text=True)
        assert f'href="{pdf}"' in html, page
        assert get_pdf(coordinator, pdf).startswith(b"%PDF")


@pytest.fixture
def postgres_url() -> Any:
    """A fresh PostgreSQL database, dropped afterwards (skipped when the server is absent)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"fieldapp_print_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_rate_limit_counts_on_postgresql(app_factory: Callable[..., Flask],
                                         postgres_url: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _mid_window(monkeypatch)
    app = app_factory(ROLE="central", VERIFY_RATE_LIMIT=2, AUTO_MIGRATE=True,
                      SQLALCHEMY_DATABASE_URI=postgres_url)
    client = app.test_client()
    path = f"/verify/{uuid.uuid4()}/{'c' * 64}"
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]
    with app.app_context():
        db.engine.dispose()
