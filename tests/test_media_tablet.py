"""Photos taken on the tablet with no connection (real Chromium against a real node): made
small in the browser (no EXIF), kept in the outbox across a reload, sent once after the family
they were taken with when the node answers again."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pwa_support import (
    LiveServer,
    demo_node,
    fill_family,
    login_and_prepare,
    outbox,
    page_of,
    poll,
    submit,
    tablet_context,
    wait_outbox_empty,
)
from sqlalchemy import select

from fieldapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def node(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[LiveServer]:
    with demo_node(tmp_path_factory.mktemp("photo-node"), demo_db, "PHO",
                   "00000000-0000-0000-0000-0000000009f1", replay_ms=2000) as server:
        yield server


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[Any]:
    with tablet_context(tmp_path / "tablet") as context:
        yield context


def camera_photo(path: Path) -> Path:
    """A 12-megapixel-like camera JPEG (4000 × 3000) with EXIF (a camera make, GPS)."""
    image = Image.new("RGB", (4000, 3000), (40, 110, 50))
    for x in range(0, 4000, 250):
        image.paste((210, 190, 30), (x, 0, x + 60, 3000))
    exif = Image.Exif()
    exif[0x010F] = "TabletCamera"
    exif[0x8825] = {1: "S", 2: (6.0, 1.0, 3.0), 3: "W", 4: (77.0, 15.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, exif=exif)
    path.write_bytes(out.getvalue())
    return path


def test_a_photo_taken_offline_with_a_new_family_is_sent_once_after_it(
        node: LiveServer, tablet: Any, tmp_path: Path) -> None:
    from fieldapp.families.models import Family
    from fieldapp.media.models import Attachment
    from fieldapp.media.storage import current_storage

    photo = camera_photo(tmp_path / "IMG_0001.jpg")
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    tablet.set_offline(True)
    page.goto(node.url + "/families/new")
    fill_family(page, "Rosa Elvira", "Fotografía Tapullima")
    page.set_input_files("#photo-capture", str(photo))
    poll(page, "document.querySelector('#photo-capture').dataset.photoReady === '1'", 20000)
    page.fill("#photo-caption", "La casa")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    items = outbox(page)
    assert [i["kind"] for i in items] == ["family", "photo"]
    stored_size = page.evaluate(
        "FieldappOutbox.listItems().then(items => items[1].fields.filter(f => f[0] === 'file')"
        "[0][1].size)")
    assert stored_size <= 300 * 1024
    assert stored_size < photo.stat().st_size

    page.reload()  # nothing is lost across a reload
    assert [i["kind"] for i in outbox(page)] == ["family", "photo"]
    with node.app.app_context():
        assert db.session.execute(select(Attachment)).first() is None

    tablet.set_offline(False)
    wait_outbox_empty(page, 40000)
    with node.app.app_context():
        family = db.session.execute(select(Family).where(
            Family.head_surname == "Fotografía Tapullima")).scalar_one()
        rows = db.session.execute(select(Attachment)).scalars().all()
        assert len(rows) == 1  # sent once
        attachment = rows[0]
        assert attachment.family_id == family.id
        assert attachment.owner_id == family.id
        assert attachment.caption == "La casa"
        assert attachment.taken_at is None  # not kept: the box was not ticked
        assert max(attachment.width, attachment.height) == 1600
        data = current_storage().read(attachment.sha256)
    assert b"TabletCamera" not in data
    assert not Image.open(io.BytesIO(data)).getexif()
    assert node.posts.count(f"/media/families/{family.id}") == 1


def test_evidence_taken_offline_on_a_visit_reaches_the_visit_its_form_made(
        node: LiveServer, tablet: Any, tmp_path: Path) -> None:
    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.media.models import Attachment

    with node.app.app_context():
        family_id = str(db.session.execute(
            select(Agreement.family_id).where(Agreement.status == "active",
                                              Agreement.voided.is_(False))
            .order_by(Agreement.number).limit(1)).scalar_one())
    photo = camera_photo(tmp_path / "clearing.jpg")
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    tablet.set_offline(True)
    page.goto(node.url + "/compliance/visits/new?family=" + family_id)
    page.wait_for_selector("form[data-outbox='visit'][data-outbox-ready='1']")
    page.wait_for_selector("[data-visit-findings] .finding")
    page.click("[data-visit-findings] .finding:first-child .seg-met")
    page.set_input_files("#photo-capture", str(photo))
    poll(page, "document.querySelector('#photo-capture').dataset.photoReady === '1'", 20000)
    page.check("input[data-photo-keep]")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert [i["kind"] for i in outbox(page)] == ["visit", "photo"]
    page.reload()
    assert [i["kind"] for i in outbox(page)] == ["visit", "photo"]
    tablet.set_offline(False)
    wait_outbox_empty(page, 40000)
    with node.app.app_context():
        visit = db.session.execute(select(ComplianceVisit).where(
            ComplianceVisit.family_id == uuid.UUID(family_id)).order_by(
            ComplianceVisit.created_at.desc()).limit(1)).scalar_one()
        rows = db.session.execute(select(Attachment)).scalars().all()
        assert [(a.owner_table, a.owner_id, a.kind) for a in rows] == [
            ("compliance_visits", visit.id, "evidence")]
        assert rows[0].taken_at is not None  # kept: the box was ticked


def test_a_photo_a_full_node_refuses_stays_on_the_tablet_with_the_reason(
        node: LiveServer, tablet: Any, tmp_path: Path) -> None:
    from fieldapp.families.models import Family
    from fieldapp.media.models import Attachment

    photo = camera_photo(tmp_path / "IMG_0002.jpg")
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    tablet.set_offline(True)
    page.goto(node.url + "/families/new")
    fill_family(page, "Nilda", "Disco Lleno Pinedo")
    page.set_input_files("#photo-capture", str(photo))
    poll(page, "document.querySelector('#photo-capture').dataset.photoReady === '1'", 20000)
    submit(page)
    page.wait_for_selector(".pwa-saved")
    node.app.config["MEDIA_MIN_FREE_MB"] = 10**12  # the node's disk is full
    tablet.set_offline(False)
    poll(page, "FieldappOutbox.listItems().then(items => items.length === 1"
               " && items[0].kind === 'photo' && items[0].last_error)", 40000)
    [item] = outbox(page)
    assert item["error"]["code"] == "media_store_full"
    assert item["error"]["status"] == 507
    assert item["error"]["message"]  # shown on the outbox page: the tablet says why
    with node.app.app_context():  # the family went; the photo was kept on the tablet only
        assert db.session.execute(select(Family).where(
            Family.head_surname == "Disco Lleno Pinedo")).scalar_one()
        assert db.session.execute(select(Attachment)).first() is None
    page.goto(node.url + "/pwa/outbox")
    poll(page, "document.querySelector('#outbox-items .outbox-item') && document.querySelector("
               "'#outbox-items').textContent.includes('507')", 10000)
    node.app.config["MEDIA_MIN_FREE_MB"] = 0  # room again (old photos pruned)
    # Sent by the page's next replay; or, set aside after five refusals (kept), by "Send again".
    poll(page, "FieldappOutbox.listItems().then(items => { if (!items.length) return true;"
               " const again = document.querySelector("
               "'.outbox-item .outbox-actions button:not(.danger)');"
               " if (again) again.click(); return false; })", 40000, interval=1000)
    with node.app.app_context():
        assert len(db.session.execute(select(Attachment)).scalars().all()) == 1


def test_the_scans_of_a_copy_signed_on_paper_go_after_the_signature_taken_offline(
        node: LiveServer, tablet: Any, tmp_path: Path) -> None:
    """The promotor opens a draft's sign page, loses the connection at the family's house,
    marks it signed on paper and scans the signed copy's two pages with the tablet: the
    signature and then both scans reach the node, bound to the agreement and its history."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.models import AuditEntry
    from fieldapp.media.models import Attachment
    from fieldapp.submissions import local_today

    with node.app.app_context():
        signed_on = local_today()  # the program's day (Peru), not this machine's (UTC)
        draft = db.session.execute(
            select(Agreement).where(Agreement.status == "draft", Agreement.voided.is_(False))
            .order_by(Agreement.number).limit(1)).scalar_one()
        draft_id = draft.id
    pages = [camera_photo(tmp_path / f"hoja-{n}.jpg") for n in (1, 2)]
    Image.open(pages[1]).rotate(90, expand=True).save(pages[1])  # another page, another hash
    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    page.goto(f"{node.url}/agreements/{draft_id}/sign")
    page.wait_for_selector("form[data-outbox='agreement-signature'][data-outbox-ready='1']")
    assert page.locator("#photo-capture").is_hidden()  # drawn on the pads: no scans asked
    tablet.set_offline(True)
    page.check("input[name=mode][value=paper]")
    page.fill("#paper_date", signed_on.isoformat())
    page.set_input_files("#photo-capture", [str(p) for p in pages])
    poll(page, "document.querySelector('#photo-capture').dataset.photoReady === '1'", 30000)
    page.fill("#photo-caption", "Copia firmada")
    submit(page)
    page.wait_for_selector(".pwa-saved")
    assert [i["kind"] for i in outbox(page)] == ["agreement-signature", "photo", "photo"]
    tablet.set_offline(False)
    wait_outbox_empty(page, 40000)
    with node.app.app_context():
        agreement = db.session.get(Agreement, draft_id)
        assert agreement.status == "signed"
        assert agreement.signed_on_paper
        scans = db.session.execute(select(Attachment).where(
            Attachment.owner_id == draft_id)).scalars().all()
        assert sorted(a.kind for a in scans) == ["scan", "scan"]
        assert {a.caption for a in scans} == {"Copia firmada"}
        bound = db.session.execute(select(AuditEntry).where(
            AuditEntry.action == "scan:attach")).scalars().all()
        assert {e.after["scan_sha256"] for e in bound} == {a.sha256 for a in scans}


def test_a_photo_added_to_a_family_page_opened_offline_waits_in_the_outbox(
        node: LiveServer, tablet: Any, tmp_path: Path) -> None:
    """A family's page the tablet stored (opened before, with the connection): offline, its
    photo strip queues the photo, which reaches the family once the node answers."""
    from fieldapp.families.models import Family
    from fieldapp.media.models import Attachment

    page = page_of(tablet)
    login_and_prepare(page, node.url, "promotor")
    with node.app.app_context():
        family_id = db.session.execute(select(Family.id).where(Family.voided.is_(False))
                                       .order_by(Family.code).limit(1)).scalar_one()
    page.goto(f"{node.url}/families/{family_id}")  # stored by the tablet as it is shown
    page.wait_for_selector("form.media-upload[data-outbox-ready='1']")
    tablet.set_offline(True)
    page.reload()
    page.wait_for_selector("form.media-upload[data-outbox-ready='1']")
    page.set_input_files("form.media-upload input[type=file]",
                         str(camera_photo(tmp_path / "casa.jpg")))
    poll(page, "document.querySelector('form.media-upload input[type=file]')"
               ".dataset.photoReady === '1'", 20000)
    page.fill("form.media-upload [name=caption]", "La casa nueva")
    page.click("form.media-upload button[type=submit]")
    page.wait_for_selector(".pwa-saved")
    assert [i["kind"] for i in outbox(page)] == ["photo"]
    tablet.set_offline(False)
    wait_outbox_empty(page, 40000)
    with node.app.app_context():
        rows = db.session.execute(select(Attachment).where(
            Attachment.owner_id == family_id)).scalars().all()
        assert [(a.caption, a.kind) for a in rows] == [("La casa nueva", "photo")]
        assert max(rows[0].width, rows[0].height) == 1600
