"""What the page scripts need from the server: URLs, timings and the interface strings.

Rendered into every page as JSON in a data attribute of ``#pwa-config`` (no inline script).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.labels import client_labels
from fieldapp.pwa import bp
from fieldapp.pwa.shell import shell_version


def client_strings() -> dict[str, str]:
    """The interface strings of the page scripts, in the request's language."""
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "checking": _("Checking…"),
        "waiting_one": _("1 waiting"),
        "waiting_many": _("{n} waiting"),
        "rejected_one": _("1 rejected"),
        "rejected_many": _("{n} rejected"),
        "last_sent": _("last sent {time}"),
        "never_sent": _("nothing sent yet"),
        "sending": _("Sending…"),
        "saved_offline": _("Saved on this tablet. It will be sent when the node answers."),
        "saved_login": _("Saved on this tablet. Log in again as {user} to send it."),
        "sent": _("Saved."),
        "store_failed": _("This tablet could not store the form ({error}). Keep this page open and try again."),  # noqa: E501
        "fix_fields": _("Please correct the marked fields. Nothing was saved yet."),
        "confirm_below": _("Read the note next to the box below; tick it to confirm, and send again."),  # noqa: E501
        "leave_unsent": _("This form was not accepted yet. It stays in the outbox, rejected, until you correct it and send it."),  # noqa: E501
        "new_entry": _("New entry"),
        "see_outbox": _("See the outbox"),
        "update_ready": _("A new version of the app is ready."),
        "reload": _("Reload"),
        "persist_refused": _("This browser may delete offline data when the tablet runs short of space. Install the app (Add to home screen) so it keeps it."),  # noqa: E501
        "kind_family": _("Family registration"),
        "kind_delivery": _("Benefit delivery"),
        "kind_attendance": _("Training attendance"),
        "kind_visit": _("Compliance visit"),
        "kind_agreement": _("Agreement draft"),
        "kind_agreement-signature": _("Agreement signature"),
        "kind_grievance": _("Grievance"),
        "kind_plot": _("Plot"),
        "kind_alert": _("Alert answer"),
        "worklist_pending": _("{n} done on this tablet, waiting to be sent."),
        "walk_points": _("{n} points kept ({dropped} left out: accuracy worse than {m} m)."),
        "walk_no_gps": _("This tablet cannot read its position: tap the corners instead, or type the boundary."),  # noqa: E501
        "walk_waiting": _("Waiting for the GPS…"),
        "status_held": _("Held: it is sent after “{what}”, which the node has not received yet."),
        "status_held_rejected": _("Held: it is sent after “{what}”, which the node refused. Correct that item first (or discard it, then correct this one). Nothing is lost."),  # noqa: E501
        "saved_held": _("Saved on this tablet. It waits for the item it depends on (see the outbox)."),  # noqa: E501
        "family_pending": _("not sent yet"),
        "draft_missing": _("This draft is not on this tablet."),
        "status_waiting": _("Waiting to be sent"),
        "status_waiting_user": _("Waiting for {user} to log in"),
        "status_rejected": _("Rejected"),
        "status_sending": _("Sending…"),
        "saved_at": _("Saved {time}"),
        "correct": _("Correct"),
        "discard": _("Discard"),
        "send_again": _("Send again"),
        "confirm_discard": _("Discard this item? It will never be sent."),
        "nothing_waiting": _("Nothing is waiting to be sent."),
        "nothing_sent": _("Nothing sent from this tablet yet."),
        "open_record": _("Open"),
        "no_match": _("No family matches."),
        "family_unknown": _("This family is not stored on this tablet."),
        "search_offline": _("Results from the data stored on this tablet."),
        "offline_data": _("{n} families stored on this tablet, updated {time}."),
        "offline_data_none": _("No data stored on this tablet yet: open the app once with a connection."),  # noqa: E501
        "choose_family": _("Choose a family"),
        "search_family": _("Search by name, code or DNI"),
        "change": _("Change"),
        "server_error": _("The node could not save it (error {status})."),
        "camera_failed": _("The camera could not be opened. Type the code instead."),
        "no_detector": _("This browser cannot read QR codes; type the code instead."),
        "scanning": _("Point the camera at the family's QR card."),
        "not_found_code": _("No family with code {code} on this tablet."),
        "other_user_item": _("Saved by {user}"),
        "queued_after_logout_one": _("1 form stays queued on this tablet; it is sent when {user} logs in again with a connection."),  # noqa: E501
        "queued_after_logout_many": _("{n} forms stay queued on this tablet; they are sent when {user} logs in again with a connection."),  # noqa: E501
        "nothing_queued_after_logout": _("Nothing was waiting to be sent: nothing stays queued."),
    }


def _client_text() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """:func:`client_strings` and ``client_labels`` in the request's language, made once per
    language and app (they are on every page: some 80 translations each time otherwise)."""
    cache = current_app.extensions.setdefault("pwa_client_text", {})
    key = str(get_locale())
    found = cache.get(key)
    if found is None:
        found = cache[key] = (client_strings(), client_labels())
    return found


@bp.app_context_processor
def pwa_context() -> dict[str, Any]:
    """``pwa_config``: the JSON the page scripts read from ``#pwa-config``."""

    def pwa_config(anonymous: bool = False) -> dict[str, Any]:
        authenticated = current_user.is_authenticated and not anonymous
        strings, labels = _client_text()
        user = current_user.username if authenticated else ""
        return {
            "user": user,
            "version": shell_version(),
            "sw": url_for("pwa.service_worker"),
            "ping": url_for("pwa.ping"),
            "data": url_for("pwa.data_index"),
            "outbox": url_for("pwa.outbox"),
            "offline": url_for("pwa.offline"),
            "families": url_for("families.index"),
            "pages": url_for("pwa.pages"),
            "probeTimeoutMs": int(current_app.config["PWA_PROBE_TIMEOUT_MS"]),
            "sendTimeoutMs": int(current_app.config["PWA_SEND_TIMEOUT_MS"]),
            "intervalMs": int(current_app.config["PWA_REPLAY_INTERVAL_MS"]),
            "strings": strings,
            "labels": labels,
            "timezone": current_app.config["PROGRAM_TIMEZONE"],
        }

    return {"pwa_config": pwa_config}
