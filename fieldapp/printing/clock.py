"""The program's local time on printouts: the one place a printout asks "what time is it here".

A coordinator in Moyobamba reads "printed 19:05", not "00:05 UTC" of the next day. The zone is
the program's (``BABEL_DEFAULT_TIMEZONE``, America/Lima by default); a dedicated time-zone
setting, when there is one, is read here and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIME_ZONE = "America/Lima"


def program_zone() -> ZoneInfo:
    """The program's time zone (the app's setting inside an app context, else Lima)."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIME_ZONE)


def program_now(now: datetime | None = None) -> datetime:
    """``now`` (default: the current instant) as an aware datetime in the program's zone."""
    return (now or datetime.now(UTC)).astimezone(program_zone())
