"""``fieldapp media check``: files not yet received (expected: exit 0) told apart from files
lost, orphaned or damaged (exit 1); partial and temporary files of transfers and writes
abandoned long ago removed, recent ones kept."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

from sqlalchemy import update
from test_media import _attachment, family, jpeg, staff, upload  # noqa: F401 - fixtures

from fieldapp.extensions import db

HOUR = 3600


def test_a_file_not_yet_received_is_no_error_until_its_grace_runs_out(
        app, family, staff, runner):  # noqa: F811 - fixtures
    from fieldapp.media.models import Attachment
    from fieldapp.media.storage import current_storage

    attachment_id = upload(staff, "families", family, jpeg(640, 480)).get_json()["id"]
    sha256 = _attachment(app, attachment_id).sha256
    result = runner.invoke(args=["media", "check"])
    assert result.exit_code == 0, result.output
    assert "not yet received (attached less than 72 h ago): 0" in result.output
    with app.app_context():
        current_storage().remove(sha256)
    result = runner.invoke(args=["media", "check"])
    assert result.exit_code == 0, result.output  # the node that took it has not synced yet
    assert "not yet received (attached less than 72 h ago): 1" in result.output
    assert f"  {sha256}" in result.output
    assert "missing (attached more than 72 h ago): 0" in result.output
    with app.app_context():
        row = db.session.get(Attachment, uuid.UUID(attachment_id))
        db.session.execute(update(Attachment).where(Attachment.id == row.id).values(
            created_at=row.created_at - timedelta(hours=73)))
        db.session.commit()
    result = runner.invoke(args=["media", "check"])
    assert result.exit_code == 1
    assert "missing (attached more than 72 h ago): 1" in result.output
    app.config["MEDIA_MISSING_GRACE_HOURS"] = 100
    result = runner.invoke(args=["media", "check"])
    assert result.exit_code == 0, result.output
    assert "not yet received (attached less than 100 h ago): 1" in result.output


def _aged(path, hours):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"a piece")
    moment = time.time() - hours * HOUR
    os.utime(path, (moment, moment))
    return path


def test_partial_files_of_abandoned_transfers_are_removed_recent_ones_kept(app, runner):
    from fieldapp.media.storage import current_storage
    from sync.state import current_state

    with app.app_context():
        partials = current_state(app).media.partial_folder
        store_root = current_storage().root
    old = _aged(partials / f"{'a' * 64}.part", 49)
    recent = _aged(partials / f"{'b' * 64}.part", 47)
    old_write = _aged(store_root / "ab" / "cd" / ".incoming-x1y2", 50)
    recent_write = _aged(store_root / "ab" / "cd" / ".incoming-z3w4", 1)
    result = runner.invoke(args=["media", "check"])
    assert result.exit_code == 0, result.output
    assert "abandoned partial files removed: 2" in result.output
    assert not old.exists()
    assert not old_write.exists()
    assert recent.exists()  # a transfer that may still resume
    assert recent_write.exists()
    # The same at start-up (and by a node's sync, and on central as nodes send: see the
    # sync tests).
    from fieldapp import create_app

    create_app({**app.config, "MEDIA_PARTIAL_MAX_HOURS": 1})
    assert not recent.exists()
    assert not recent_write.exists()
