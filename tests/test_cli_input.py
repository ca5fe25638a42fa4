"""The CLI's write commands on bad input: a clear message and a non-zero exit, no traceback."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.extensions import db


def test_print_to_a_missing_folder_is_a_message(demo_app, tmp_path):
    from fieldapp.communities.models import Community

    with demo_app.app_context():
        code = db.session.execute(select(Community.code).order_by(Community.code)).scalars().first()
    out = tmp_path / "no" / "such" / "folder" / "cards.pdf"
    result = demo_app.test_cli_runner().invoke(
        args=["print", "cards", "--community", code, "--out", str(out)])
    assert result.exit_code == 1
    assert "cannot write" in result.output
    assert not isinstance(result.exception, OSError)


def test_sync_interval_out_of_range_is_a_usage_error(app):
    for value in ("nan", "-5", "1e309"):
        result = app.test_cli_runner().invoke(args=["sync", "--loop", "--interval", value])
        assert result.exit_code == 2, value
        assert "--interval" in result.output

