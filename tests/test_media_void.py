"""A wrong photo or scan voided with a reason: by the person who took it before it left the
node, or by a coordinator; kept (row and file) for auditors and shown to them as voided,
hidden from strips, PDFs and exports, audited; voiding an agreement's scan is written into the
agreement's history and leaves a signed agreement as it was."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

from cyclekit import agreement_in_state, login
from sqlalchemy import select, update
from test_media import JSON, _attachment, family, jpeg, staff, upload  # noqa: F401 - fixtures

from fieldapp.extensions import db


def void(client, attachment_id, reason="Foto de otra familia"):
    return client.post(f"/media/{attachment_id}/void", data={"reason": reason}, headers=JSON)


def _mark_sent(app, attachment_id):
    """As a sync that got through leaves the attachment's insert: acknowledged by central."""
    from sync.state import current_state

    with app.app_context():
        outbox = current_state(app).tables.outbox
        changed = db.session.execute(update(outbox).where(
            outbox.c.row_id == uuid.UUID(attachment_id)).values(status="done")).rowcount
        db.session.commit()
    assert changed >= 1


def test_the_taker_voids_a_wrong_photo_before_it_is_sent_and_it_is_kept_for_auditors(
        app, family, staff):  # noqa: F811 - fixtures
    from fieldapp.audit.models import AuditEntry
    from fieldapp.media.storage import current_storage

    attachment_id = upload(staff, "families", family, jpeg(640, 480),
                           caption="Casa").get_json()["id"]
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert f"/media/{attachment_id}/void" in page
    refused = void(staff, attachment_id, reason="  ")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["message"]
    assert not _attachment(app, attachment_id).voided
    response = void(staff, attachment_id)
    assert response.status_code == 200, response.get_json()
    attachment = _attachment(app, attachment_id)
    assert attachment.voided
    assert attachment.void_reason == "Foto de otra familia"
    assert attachment.voided_by == "cycle-field-staff"
    assert attachment.voided_at is not None
    with app.app_context():
        assert current_storage().has(attachment.sha256)  # the file is kept
        entry = db.session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == uuid.UUID(attachment_id),
            AuditEntry.action == "void")).scalar_one()
        assert entry.before["voided"] is False
        assert entry.after["void_reason"] == "Foto de otra familia"
    # Hidden from the strip and the file route for field staff...
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert f"/media/{attachment_id}/thumb" not in page
    assert staff.get(f"/media/{attachment_id}").status_code == 404
    assert void(staff, attachment_id).status_code == 404
    # ... shown as voided, with why, to a coordinator (an auditor), who may open it.
    coordinator = login(app, "coordinator")
    page = coordinator.get(f"/families/{family}").get_data(as_text=True)
    assert f"/media/{attachment_id}/thumb" not in page
    assert "Foto de otra familia" in page
    assert f'href="/media/{attachment_id}"' in page
    assert coordinator.get(f"/media/{attachment_id}").status_code == 200
    assert coordinator.get(f"/media/{attachment_id}/thumb").status_code == 404
    # ... and out of the export.
    month = date.today().strftime("%Y-%m")
    export = coordinator.get("/dashboard/export/attachments.csv",
                             query_string={"from": month, "to": month})
    assert list(csv.DictReader(io.StringIO(export.get_data(as_text=True)[1:]))) == []
    # The same photo may be attached again to the right record (the voided one is not it).
    again = upload(staff, "families", family, jpeg(640, 480))
    assert again.status_code == 201
    assert again.get_json()["id"] != attachment_id


def test_only_the_taker_before_sending_or_a_coordinator_may_void(app, family, staff):  # noqa: F811
    attachment_id = upload(staff, "families", family, jpeg(320, 240)).get_json()["id"]
    colleague = login(app, "field_staff", username="otra-promotora")
    page = colleague.get(f"/families/{family}").get_data(as_text=True)
    assert f"/media/{attachment_id}/void" not in page
    refused = void(colleague, attachment_id)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "void_refused"
    _mark_sent(app, attachment_id)  # central has the row now: the taker may no longer
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert f"/media/{attachment_id}/void" not in page
    assert void(staff, attachment_id).status_code == 409
    assert not _attachment(app, attachment_id).voided
    coordinator = login(app, "coordinator")
    assert f"/media/{attachment_id}/void" in coordinator.get(
        f"/families/{family}").get_data(as_text=True)
    assert void(coordinator, attachment_id).status_code == 200
    assert _attachment(app, attachment_id).voided_by == "cycle-coordinator"
    # A person's form: back to the record's page with a note.
    other = upload(staff, "families", family, jpeg(330, 240)).get_json()["id"]
    response = coordinator.post(f"/media/{other}/void", data={"reason": "Borrosa"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/families/{family}#media")


def test_voiding_a_scan_is_in_the_agreements_history_and_the_signed_agreement_is_unchanged(
        app, family, staff):  # noqa: F811
    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.models import AuditEntry
    from fieldapp.media.queries import has_scan

    agreement_id = agreement_in_state(app, family, "active")
    scan_id = upload(staff, "agreements", agreement_id, jpeg(1200, 1600),
                     kind="scan").get_json()["id"]
    sha256 = _attachment(app, scan_id).sha256

    def agreement_state():
        with app.app_context():
            a = db.session.get(Agreement, agreement_id)
            return (a.status, a.version, a.updated_at, a.content_hash)

    from pypdf import PdfReader

    def pages(url):
        response = staff.get(url)
        assert response.status_code == 200
        return len(PdfReader(io.BytesIO(response.data)).pages)

    plain = pages(f"/print/agreements/{agreement_id}.pdf")
    assert pages(f"/print/agreements/{agreement_id}.pdf?scans=1") == plain + 1
    before = agreement_state()
    coordinator = login(app, "coordinator")
    assert void(coordinator, scan_id, reason="Escaneo de otro acuerdo").status_code == 200
    assert agreement_state() == before
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == agreement_id,
            AuditEntry.action == "scan:void")).scalar_one()
        assert entry.after["scan_sha256"] == sha256
        assert entry.after["void_reason"] == "Escaneo de otro acuerdo"
        assert not has_scan(agreement_id)
    page = coordinator.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert f"/media/{scan_id}/thumb" not in page
    assert "Escaneo de otro acuerdo" in page
    # The agreement's PDF with its scans no longer carries it.
    assert pages(f"/print/agreements/{agreement_id}.pdf?scans=1") == plain
