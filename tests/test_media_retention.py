"""A node's photo store against its quota (``MEDIA_QUOTA_MB``: over it, photos are still taken
and the node says so) and its disk (``MEDIA_MIN_FREE_MB``: a photo that would leave the database
too little room is refused with a clear 507, nothing kept); ``fieldapp media prune`` removes a
node's copies of files central holds after ``MEDIA_RETENTION_DAYS`` (never on central, never a
file central has not confirmed), and the pages then say "kept on central"."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from cyclekit import login
from sqlalchemy import func, select, update
from test_media import JSON, _attachment, family, jpeg, staff, upload  # noqa: F401 - fixtures

from fieldapp.extensions import db

OVER = 'class="flash flash-warning media-over-quota"'
#: The note after an upload, in either language.
OVER_NOTE = ("over their quota", "superan su cuota")


def test_a_node_over_its_quota_still_takes_photos_and_says_so(app, family, staff):  # noqa: F811
    app.config["MEDIA_QUOTA_MB"] = 0.001  # about 1 KB: any photo is over it
    assert OVER not in staff.get(f"/families/{family}").get_data(as_text=True)
    response = upload(staff, "families", family, jpeg(640, 480))
    assert response.status_code == 201
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert OVER in page
    sync_page = staff.get("/nodes/sync").get_data(as_text=True)
    assert 'id="media-over-quota"' in sync_page
    assert 'id="media-full"' not in sync_page
    # A person's upload is told at once.
    form = staff.post(f"/media/families/{family}", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(jpeg(650, 480)), "p.jpg"),
                            "kind": "photo"}, follow_redirects=True)
    assert any(note in form.get_data(as_text=True) for note in OVER_NOTE)


def test_a_full_disk_refuses_a_photo_with_507_and_keeps_nothing(app, family, staff):  # noqa: F811
    from fieldapp.media.models import Attachment
    from fieldapp.media.storage import current_storage

    app.config["MEDIA_MIN_FREE_MB"] = 10**12  # more room than any disk has
    response = upload(staff, "families", family, jpeg(640, 480))
    assert response.status_code == 507
    error = response.get_json()["error"]
    assert error["code"] == "media_store_full"
    assert "tablet" in error["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
        assert list(current_storage().hashes()) == []
    assert 'id="media-full"' in staff.get("/nodes/sync").get_data(as_text=True)
    page = staff.post(f"/media/families/{family}", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(jpeg(640, 480)), "p.jpg"),
                            "kind": "photo"})
    assert page.status_code == 507  # a person gets the page that says why, not a 500


def _confirmed_and_aged(app, attachment_id, days, confirmed=True):
    """As a sync leaves a file central confirmed, attached ``days`` ago."""
    from fieldapp.media.models import Attachment, OnCentral

    with app.app_context():
        row = db.session.get(Attachment, uuid.UUID(attachment_id))
        db.session.execute(update(Attachment).where(Attachment.id == row.id).values(
            created_at=row.created_at - timedelta(days=days)))
        if confirmed:
            db.session.add(OnCentral(sha256=row.sha256))
        db.session.commit()
        return row.sha256


def test_prune_removes_old_files_central_holds_and_pages_say_kept_on_central(
        app, family, staff, runner):  # noqa: F811
    from fieldapp.media.storage import current_storage

    old = upload(staff, "families", family, jpeg(640, 480)).get_json()["id"]
    unconfirmed = upload(staff, "families", family, jpeg(641, 480)).get_json()["id"]
    recent = upload(staff, "families", family, jpeg(642, 480)).get_json()["id"]
    old_hash = _confirmed_and_aged(app, old, 40)
    unconfirmed_hash = _confirmed_and_aged(app, unconfirmed, 40, confirmed=False)
    recent_hash = _confirmed_and_aged(app, recent, 5)
    off = runner.invoke(args=["media", "prune"])
    assert off.exit_code == 1
    assert "MEDIA_RETENTION_DAYS" in off.output
    app.config["MEDIA_RETENTION_DAYS"] = 30
    dry = runner.invoke(args=["media", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove 1 files" in dry.output

    def here(sha256):
        with app.app_context():
            return current_storage().has(sha256)

    assert here(old_hash)
    done = runner.invoke(args=["media", "prune"])
    assert done.exit_code == 0, done.output
    assert "removed 1 files" in done.output
    assert [here(h) for h in (old_hash, unconfirmed_hash, recent_hash)] == [False, True, True]
    page = staff.get(f"/families/{family}").get_data(as_text=True)
    assert "media-on-central" in page
    assert "Kept on central" in page or "Guardada en central" in page
    assert f"/media/{old}/thumb" not in page
    response = staff.get(f"/media/{old}")
    assert response.status_code == 404
    assert response.headers["X-Media-State"] == "on_central"
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    check = runner.invoke(args=["media", "check"])
    assert check.exit_code == 0, check.output  # pruned is not missing
    assert "pruned here, kept on central: 1" in check.output
    assert "removed 0 files" in runner.invoke(args=["media", "prune"]).output
    # 'media resend' keeps what was pruned (there is nothing here to send).
    from fieldapp.media.models import OnCentral

    runner.invoke(args=["media", "resend"])
    with app.app_context():
        assert set(db.session.execute(select(OnCentral.sha256)).scalars()) == {old_hash}


def test_central_never_prunes(app_factory):
    central = app_factory(ROLE="central")
    central.config["MEDIA_RETENTION_DAYS"] = 1
    result = central.test_cli_runner().invoke(args=["media", "prune"])
    assert result.exit_code == 1
    assert any(text in result.output for text in ("Central never prunes",
                                                  "La central nunca depura"))


def test_the_coordinator_sees_the_quota_on_the_sync_page(app):
    coordinator = login(app, "coordinator")
    app.config["MEDIA_QUOTA_MB"] = 50
    page = coordinator.get("/nodes/sync").get_data(as_text=True)
    used = page.split("data-media-used>", 1)[1].split("</dd>", 1)[0]
    assert used in ("0.0 MB of 50.0 MB", "0.0 MB de 50.0 MB")
    assert 'id="media-over-quota"' not in page
