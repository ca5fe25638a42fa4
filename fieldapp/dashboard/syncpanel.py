"""The dashboard's sync panel: how fresh the data on screen is.

On central, one row per field node: its last contact and last successful sync, the changes it
reported waiting on it, its open conflicts and the records central refused from it, with the
nodes not heard from in ``DASHBOARD_SYNC_STALE_DAYS`` days flagged. On a field node, its own
sync state. Read-only: the figures come from :mod:`fieldapp.nodes` and :mod:`sync`, which own
them; the screens to act on them are the sync dashboard, conflicts and refused records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # stored as UTC


def stale_days() -> int:
    """After how many days without contact a node is flagged."""
    return int(current_app.config.get("DASHBOARD_SYNC_STALE_DAYS") or 3)


def central_panel(now: datetime | None = None) -> dict[str, Any]:
    """Every registered node's sync facts, and the program's totals of them.

    A node is *silent* when it is enrolled and has not contacted central for
    :func:`stale_days` days (or never did); revoked nodes and those awaiting enrolment are not.
    """
    from fieldapp.nodes.queries import dashboard_rows

    now = now or _now()
    limit = now - timedelta(days=stale_days())
    rows = []
    for row in dashboard_rows():
        node = row["node"]
        contact = _aware(node.last_contact_at)
        silent = node.status == "enrolled" and (contact is None or contact < limit)
        rows.append(
            {
                "id": node.id,
                "code": node.code,
                "name": node.name,
                "status": node.status,
                "last_contact_at": contact,
                "last_success_at": _aware(node.last_success_at),
                "pending": node.pending_reported,
                "open_conflicts": row["open_conflicts"],
                "quarantined": row["quarantined"],
                "error_code": node.last_error_code,
                "silent": silent,
                "days_silent": (now - contact).days if silent and contact else None,
            }
        )
    return {
        "role": "central",
        "stale_days": stale_days(),
        "nodes": rows,
        "silent": sum(1 for r in rows if r["silent"]),
        "open_conflicts": sum(r["open_conflicts"] for r in rows),
        "quarantined": sum(r["quarantined"] for r in rows),
        "pending": sum(r["pending"] or 0 for r in rows),
    }


def field_panel(now: datetime | None = None) -> dict[str, Any]:
    """This field node's own sync state (as its sync page shows it)."""
    from fieldapp.nodes.messages import plain_error
    from sync.node.runner import status

    now = now or _now()
    info = status(current_app.extensions["sync"], end_transaction=False)
    success = _aware(info["last_success_at"])
    return {
        "role": "field",
        "stale_days": stale_days(),
        "enrolled": info["enrolled"],
        "central_url": info["central_url"],
        "last_success_at": success,
        "last_attempt_at": _aware(info["last_attempt_at"]),
        "pending": info["pending"],
        "quarantined": info["quarantined"],
        "error": plain_error(info["last_error"]) if info["last_error"] else None,
        "silent": info["enrolled"]
        and (success is None or success < now - timedelta(days=stale_days())),
    }


def sync_panel() -> dict[str, Any]:
    """The panel for this installation's role."""
    return central_panel() if current_app.config["ROLE"] == "central" else field_panel()
