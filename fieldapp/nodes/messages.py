"""What a sync error means, in plain words (the engine's codes, translated)."""

from __future__ import annotations

from typing import Any

from fieldapp.labels import LABELS

PLAIN = LABELS["sync_error"]
#: Why central refused a record, in plain words.
REFUSALS = LABELS["refusal"]


def plain_error(error: dict[str, Any] | None) -> str | None:
    """The sentence a person reads for an error ``{"code", "message"}``."""
    if not error:
        return None
    return str(PLAIN.get(error.get("code"), error.get("message") or error.get("code")))


def plain_refusal(code: str | None, message: str | None) -> str:
    return str(REFUSALS.get(code or "", message or code or ""))
