# ruff: noqa: S603, S607 - a fixed poppler command (pdftoppm renders the scan page)
"""Photos and scans through HTTP: stored reduced and without EXIF, refused when not an image
(a clear 400/413, never a 500), served only within the reader's scope with the decoded type,
shown on each record's page, a replaced file found out by its hash, an agreement scan's hash in
its history, ``fieldapp media check``."""

from __future__ import annotations

import io
import uuid

import pytest
from cyclekit import agreement_in_state, login, seed
from PIL import Image
from sqlalchemy import select

from fieldapp.extensions import db

JSON = {"Accept": "application/json"}


def jpeg(width: int = 2400, height: int = 1800, exif_gps: bool = True) -> bytes:
    """A camera-like JPEG, with EXIF (a GPS block and a camera make) when asked."""
    image = Image.new("RGB", (width, height), (30, 120, 40))
    for x in range(0, width, 97):
        image.paste((200, 180, 20), (x, 0, x + 20, height))
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_gps:
        exif[0x010F] = "CameraMaker"  # Make
        exif[0x8825] = {1: "S", 2: (6.0, 1.0, 3.0), 3: "W", 4: (77.0, 15.0, 0.0)}  # GPS IFD
    image.save(out, format="JPEG", quality=95, exif=exif)
    return out.getvalue()


def upload(client, table, owner_id, data, name="photo.jpg", kind="photo", **extra):
    fields = {"file": (io.BytesIO(data), name), "kind": kind, **extra}
    return client.post(f"/media/{table}/{owner_id}", data=fields, headers=JSON,
                       content_type="multipart/form-data")


@pytest.fixture
def family(app, make_family, make_community):
    seed(app)
    return make_family(community_id=make_community(code="C300", name="Aguas Verdes"))


@pytest.fixture
def staff(app):
    return login(app, "field_staff")


def _attachment(app, attachment_id):
    from fieldapp.media.models import Attachment

    with app.app_context():
        return db.session.get(Attachment, uuid.UUID(attachment_id))


def test_a_photo_is_stored_reduced_without_exif_and_served_with_its_decoded_type(
        app, family, staff):
    raw = jpeg()
    response = upload(staff, "families", family, raw, name="IMG_0001.png", caption="La casa")
    assert response.status_code == 201, response.get_json()
    attachment = _attachment(app, response.get_json()["id"])
    assert (attachment.width, attachment.height) == (1600, 1200)
    assert attachment.mime == "image/jpeg"
    assert attachment.caption == "La casa"
    assert attachment.lat is None
    assert attachment.taken_at is None

    served = staff.get(f"/media/{attachment.id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "filename=" in served.headers["Content-Disposition"]
    stored = Image.open(io.BytesIO(served.data))
    assert stored.size == (1600, 1200)
    assert not stored.getexif()  # no GPS, no camera
    assert b"CameraMaker" not in served.data
    assert len(served.data) == attachment.size < len(raw)
    download = staff.get(f"/media/{attachment.id}?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    thumb = staff.get(f"/media/{attachment.id}/thumb")
    assert thumb.status_code == 200
    assert max(Image.open(io.BytesIO(thumb.data)).size) == 240

    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert f"/media/{attachment.id}/thumb" in page
    assert "La casa" in page


def test_the_same_photo_twice_is_attached_once(app, family, staff):
    raw = jpeg(800, 600)
    first = upload(staff, "families", family, raw)
    second = upload(staff, "families", family, raw)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]


def test_the_same_photo_sent_twice_at_once_is_attached_once(app, family, staff, monkeypatch):
    """A retried send while the first is still on its way: both requests look for the photo at
    the same moment (a pause between looking and attaching makes sure of it)."""
    import threading
    import time

    from fieldapp.media import operations
    from fieldapp.media.models import Attachment

    real = operations.forget_usage

    def slowly() -> None:
        time.sleep(0.4)  # between "is it attached already?" and attaching it
        real()

    monkeypatch.setattr(operations, "forget_usage", slowly)
    raw = jpeg(700, 500)
    other = login(app, "field_staff")
    answers = []
    start = threading.Barrier(2)

    def send(client) -> None:
        start.wait()
        answers.append(upload(client, "families", family, raw))

    threads = [threading.Thread(target=send, args=(c,)) for c in (staff, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    with app.app_context():
        assert len(db.session.execute(select(Attachment).where(
            Attachment.owner_id == uuid.UUID(str(family)))).scalars().all()) == 1


def test_time_and_place_are_kept_only_when_sent(app, family, staff):
    response = upload(staff, "families", family, jpeg(640, 480), lat="-5.9", lon="-77.3",
                      taken_at="2026-03-01T10:00:00Z")
    attachment = _attachment(app, response.get_json()["id"])
    assert (attachment.lat, attachment.lon) == (-5.9, -77.3)
    assert attachment.taken_at.isoformat().startswith("2026-03-01T10:00")
    bad = upload(staff, "families", family, jpeg(641, 480), lat="-95", lon="-77.3")
    assert bad.status_code == 422
    future = upload(staff, "families", family, jpeg(642, 480), taken_at="2999-01-01T00:00:00Z")
    assert future.status_code == 422
    assert future.get_json()["error"]["details"]["field"] == "taken_at"


def _svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")  # a few KB, 400 Mpixels
    return out.getvalue()


@pytest.mark.parametrize(("make", "name", "status"), [
    (lambda: b"%PDF-1.4 not an image at all" * 100, "scan.jpg", 400),
    (_svg, "drawing.svg", 400),
    (_bomb, "bomb.png", 400),
    (lambda: jpeg(800, 600)[:2000], "cut.jpg", 400),
    (lambda: b"", "empty.jpg", 400),
])
def test_what_is_not_a_photo_is_refused_clearly_and_nothing_is_kept(app, family, staff, make,
                                                                    name, status):
    from fieldapp.media.models import Attachment
    from fieldapp.media.storage import current_storage

    response = upload(staff, "families", family, make(), name=name)
    assert response.status_code in (status, 422), response.get_data(as_text=True)
    assert response.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.execute(select(Attachment)).first() is None
        assert list(current_storage().hashes()) == []


def _multipart(data: bytes) -> tuple[bytes, str]:
    """A form body built by hand (the test client spools a big one to an unclosed file)."""
    boundary = "----fieldapp-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nphoto\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    return body + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def test_a_50_mb_upload_is_refused_with_413(app, family, staff):
    body, boundary = _multipart(b"\xff\xd8" + b"0" * (50 * 1024 * 1024))
    response = staff.post(f"/media/families/{family}", input_stream=io.BytesIO(body),
                          content_length=len(body), headers=JSON,
                          content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert response.get_json()["error"]["message"]
    # A person's browser gets a page that says so, not a stack trace.
    body, boundary = _multipart(b"0" * (9 * 1024 * 1024))
    page = staff.post(f"/media/families/{family}", input_stream=io.BytesIO(body),
                      content_length=len(body),
                      content_type=f"multipart/form-data; boundary={boundary}")
    assert page.status_code == 413
    assert b"<html" in page.data.lower()


def test_a_form_without_javascript_attaches_and_comes_back_to_the_page(app, family, staff):
    response = staff.post(f"/media/families/{family}", data={
        "file": (io.BytesIO(jpeg(640, 480)), "casa.jpg"), "kind": "photo", "caption": "Casa"},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/families/{family}#media")


def test_photos_are_served_only_within_the_readers_communities(app, make_family, make_community):
    seed(app)
    mine = make_family(community_id=make_community(code="C401", name="Mía"))
    theirs = make_family(community_id=make_community(code="C402", name="Otra"))
    coordinator = login(app, "coordinator")
    attachment_id = upload(coordinator, "families", theirs, jpeg(640, 480)).get_json()["id"]
    limited = login(app, "field_staff", "limited", communities=("C401",))
    assert limited.get(f"/media/{attachment_id}").status_code == 403
    assert limited.get(f"/media/{attachment_id}/thumb").status_code == 403
    refused = upload(limited, "families", theirs, jpeg(320, 240))
    assert refused.status_code == 403
    assert upload(limited, "families", mine, jpeg(320, 240)).status_code == 201


def test_a_replaced_file_is_found_out_on_read_and_shown_as_damaged(app, family, staff, runner):
    from fieldapp.media.storage import LocalStorage, current_storage

    attachment_id = upload(staff, "families", family, jpeg(640, 480)).get_json()["id"]
    attachment = _attachment(app, attachment_id)
    with app.app_context():
        store = current_storage()
        assert isinstance(store, LocalStorage)
        store.path_of(attachment.sha256).write_bytes(jpeg(640, 481))
    for url in (f"/media/{attachment_id}", f"/media/{attachment_id}/thumb"):
        response = staff.get(url)
        assert response.status_code == 404
        assert response.headers["X-Media-State"] == "damaged"
        assert response.headers["Content-Type"].startswith("image/svg+xml")
    result = runner.invoke(args=["media", "check"])
    assert attachment.sha256 in result.output
    assert "damaged" in result.output.lower()
    assert result.exit_code == 1


def test_missing_bytes_are_shown_as_not_yet_received(app, family, staff, runner):
    from fieldapp.media.storage import current_storage

    attachment_id = upload(staff, "families", family, jpeg(640, 480)).get_json()["id"]
    attachment = _attachment(app, attachment_id)
    with app.app_context():
        store = current_storage()
        store.remove(attachment.sha256)
        orphan = store.put(b"bytes no row names")
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "Not yet received" in page or "Aún no recibida" in page
    assert f"/media/{attachment_id}/thumb" not in page
    response = staff.get(f"/media/{attachment_id}")
    assert response.status_code == 404
    assert response.headers["X-Media-State"] == "missing"
    result = runner.invoke(args=["media", "check"])
    assert result.exit_code == 1
    assert attachment.sha256 in result.output
    assert orphan in result.output


def test_an_agreement_scan_is_bound_into_its_history(app, family, staff):
    from fieldapp.audit.models import AuditEntry

    agreement_id = agreement_in_state(app, family, "active")
    response = upload(staff, "agreements", agreement_id, jpeg(1200, 1600), kind="scan")
    assert response.status_code == 201
    attachment = _attachment(app, response.get_json()["id"])
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == agreement_id, AuditEntry.action == "scan:attach")).scalar_one()
        assert entry.after["scan_sha256"] == attachment.sha256
    page = staff.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert f"/media/{attachment.id}/thumb" in page
    assert attachment.sha256[:12] in page  # the hash shown in the history
    # A receipt is not a kind an agreement takes.
    assert upload(staff, "agreements", agreement_id, jpeg(300, 200),
                  kind="receipt").status_code == 422


def test_an_unknown_record_is_a_404(app, family, staff):
    assert upload(staff, "families", uuid.uuid4(), jpeg(300, 200)).status_code == 404
    assert upload(staff, "users", family, jpeg(300, 200)).status_code == 404  # not an owner
    assert staff.get(f"/media/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize("target", ["backup-folder", "backup.tar.gz"])
def test_backup_and_restore_carry_the_photos(app, family, staff, runner, tmp_path, target):
    from fieldapp.media.storage import current_storage

    attachment_id = upload(staff, "families", family, jpeg(640, 480)).get_json()["id"]
    attachment = _attachment(app, attachment_id)
    dest = tmp_path / target
    result = runner.invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert "media/ (1 files)" in result.output
    with app.app_context():
        current_storage().remove(attachment.sha256)
    assert staff.get(f"/media/{attachment_id}").status_code == 404
    result = runner.invoke(args=["restore", "--force", str(dest)])
    assert result.exit_code == 0, result.output
    served = staff.get(f"/media/{attachment_id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"


def _red_scan() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 1600), (220, 20, 20)).save(out, format="JPEG")
    return out.getvalue()


def test_the_agreement_pdf_can_carry_the_scan_as_a_page(app, family, staff, tmp_path):
    import subprocess

    from pypdf import PdfReader

    agreement_id = agreement_in_state(app, family, "active")
    plain = staff.get(f"/print/agreements/{agreement_id}.pdf?scans=1")
    pages_without = len(PdfReader(io.BytesIO(plain.data)).pages)
    assert upload(staff, "agreements", agreement_id, _red_scan(), kind="scan").status_code == 201
    page = staff.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert f"/print/agreements/{agreement_id}.pdf?scans=1" in page
    assert len(PdfReader(io.BytesIO(staff.get(
        f"/print/agreements/{agreement_id}.pdf").data)).pages) == pages_without
    pdf = staff.get(f"/print/agreements/{agreement_id}.pdf?scans=1")
    assert pdf.status_code == 200
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == pages_without + 1
    src = tmp_path / "with-scan.pdf"
    src.write_bytes(pdf.data)
    last = pages_without + 1
    subprocess.run(["pdftoppm", "-r", "30", "-f", str(last), "-l", str(last), "-png",
                    "-singlefile", str(src), str(tmp_path / "scan-page")], check=True)
    with Image.open(tmp_path / "scan-page.png") as rendered:
        width, height = rendered.size
        red, green, blue = rendered.convert("RGB").getpixel((width // 2, height // 2))
    assert red > 180
    assert green < 80
    assert blue < 80


def test_the_public_verify_page_says_a_scan_exists_without_showing_it(app_factory):
    from fieldapp.agreements.models import Agreement
    from fieldapp.families.operations import create_family

    app = app_factory(ROLE="central")
    seed(app)
    with app.app_context():
        from fieldapp.communities.models import Community

        community = Community(code="C900", name="Central", district="Moyobamba")
        db.session.add(community)
        db.session.commit()
        community_id = community.id
    with app.test_request_context():
        family = create_family({"head_given_names": "Rosa", "head_surname": "Pérez",
                                "members_count": 3, "data_consent": True,
                                "community_id": community_id,
                                "confirm_not_duplicate": True}).id
        db.session.commit()
    staff = login(app, "coordinator")
    agreement_id = agreement_in_state(app, family, "active")
    with app.app_context():
        content_hash = db.session.get(Agreement, agreement_id).content_hash
    anyone = app.test_client()
    before = anyone.get(f"/verify/{agreement_id}/{content_hash}").get_data(as_text=True)
    assert 'id="signed-scan"' in before
    assert "Ninguno registrado" in before or "None on record" in before
    attachment_id = upload(staff, "agreements", agreement_id, _red_scan(),
                           kind="scan").get_json()["id"]
    after = anyone.get(f"/verify/{agreement_id}/{content_hash}").get_data(as_text=True)
    assert "Registrado en el programa" in after or "On record with the program" in after
    assert attachment_id not in after
    assert "/media/" not in after
    assert anyone.get(f"/media/{attachment_id}").status_code in (302, 401, 403)


def test_the_export_lists_each_photo_with_its_link(app, family, staff):
    import csv
    from datetime import date

    attachment_id = upload(staff, "families", family, jpeg(320, 240),
                           caption="Parcela").get_json()["id"]
    coordinator = login(app, "coordinator")
    month = date.today().strftime("%Y-%m")
    response = coordinator.get("/dashboard/export/attachments.csv",
                               query_string={"from": month, "to": month})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True)[1:])))
    assert [(r["attachment_id"], r["file_link"], r["caption"], r["kind"]) for r in rows] == [
        (attachment_id, f"/media/{attachment_id}", "Parcela", "photo")]
    assert coordinator.get(rows[0]["file_link"]).status_code == 200

    # A family that withdrew its consent to data use: neither caption nor link exported.
    from fieldapp.families.models import Family
    from fieldapp.families.operations import withdraw_family

    with app.test_request_context():
        withdraw_family(db.session.get(Family, family), "consent_withdrawn", date.today())
        db.session.commit()
    response = coordinator.get("/dashboard/export/attachments.csv",
                               query_string={"from": month, "to": month})
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True)[1:])))
    assert [(r["attachment_id"], r["file_link"], r["caption"]) for r in rows] == [
        (attachment_id, "", "")]


def test_a_photo_taken_with_a_form_reaches_the_record_that_forms_key_made(
        app, make_community, staff):
    from fieldapp.media.models import Attachment

    seed(app)
    community = make_community(code="C500", name="Con clave")
    key = str(uuid.uuid4())
    early = upload(staff, "by-key", key, jpeg(320, 240))  # before its form: not here yet
    assert early.status_code == 404
    assert early.get_json()["error"]["message"]
    made = staff.post("/families/new", headers=JSON, data={
        "idempotency_key": key, "community_id": str(community), "head_given_names": "Lidia",
        "head_surname": "Con Foto", "members_count": "3", "data_consent": "y",
        "confirm_not_duplicate": "y"})
    assert made.status_code == 201, made.get_json()
    family_id = made.get_json()["id"]
    response = upload(staff, "by-key", key, jpeg(320, 240))
    assert response.status_code == 201
    attachment = _attachment(app, response.get_json()["id"])
    assert str(attachment.owner_id) == family_id
    assert attachment.owner_table == "families"
    with app.app_context():
        assert db.session.execute(select(Attachment)).scalars().all() != []


def test_a_delivery_receipt_can_carry_its_photos(app, family, staff, tmp_path):
    import subprocess

    from cyclekit import SIGNATURE, catalogue
    from pypdf import PdfReader

    agreement_in_state(app, family, "active")
    _, benefits = catalogue(app)
    made = staff.post("/deliveries/new", headers=JSON, data={
        "family_id": str(family), "benefit_type_id": str(benefits["coffee_seedlings"]),
        "item": "Plantones", "quantity": "25", "unit": "plantones",
        "delivered_on": "2026-03-15", "delivered_by_name": "Wilmer Tuanama",
        "receipt_kind": "thumbprint_paper", "receiver_name": "María Huamán",
        "receipt_signature": SIGNATURE, "idempotency_key": str(uuid.uuid4())})
    assert made.status_code == 201, made.get_json()
    delivery_id = made.get_json()["id"]
    plain = staff.get(f"/print/deliveries/{delivery_id}/receipt.pdf?photos=1")
    assert len(PdfReader(io.BytesIO(plain.data)).pages) == 1
    assert upload(staff, "benefit_deliveries", delivery_id, _red_scan(),
                  kind="receipt").status_code == 201
    page = staff.get(f"/deliveries/{delivery_id}").get_data(as_text=True)
    assert f"/print/deliveries/{delivery_id}/receipt.pdf?photos=1" in page
    pdf = staff.get(f"/print/deliveries/{delivery_id}/receipt.pdf?photos=1")
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 2
    src = tmp_path / "receipt.pdf"
    src.write_bytes(pdf.data)
    subprocess.run(["pdftoppm", "-r", "30", "-f", "2", "-l", "2", "-png", "-singlefile",
                    str(src), str(tmp_path / "photo-page")], check=True)
    with Image.open(tmp_path / "photo-page.png") as rendered:
        width, height = rendered.size
        red, green, _blue = rendered.convert("RGB").getpixel((width // 2, height // 4))
    assert red > 180
    assert green < 80
