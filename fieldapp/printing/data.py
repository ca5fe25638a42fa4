"""What the printouts show, as plain data read from the database beforehand.

The PDF builders take these objects (and translated labels) and nothing else: no database, no
request, so a batch renders the same in a view, the CLI or a benchmark.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reportlab.lib.utils import ImageReader


@dataclass
class SignaturePrint:
    """A signature to print: drawn on the tablet (``image_png``) or a blank line for ink."""

    role: str
    name: str
    dni: str | None = None
    image_png: bytes | None = None
    image_size: tuple[int, int] | None = None
    signed_at: datetime | None = None
    place: str | None = None


@dataclass
class AgreementPrint:
    """Everything the agreement PDF shows, already read from the database."""

    content: Mapping[str, Any]
    content_hash: str | None
    status: str
    verify_url: str | None = None
    signed_at: datetime | None = None
    supersedes_number: str | None = None
    organisation: str = ""
    authority: str = ""
    signatures: list[SignaturePrint] = field(default_factory=list)

    @property
    def is_draft(self) -> bool:
        return not self.content_hash

    @property
    def key(self) -> str:
        return str(self.content.get("id", "")).replace("-", "")


def usable_image(png: bytes | None,
                 expected_sha256: str | None) -> tuple[bytes, tuple[int, int]] | None:
    """The signature image and its size if present and, when the signed content names one, the
    same image; ``None`` otherwise.

    A missing or unreadable image, or one that does not match the hash frozen at signing, is
    not printed: a blank line is.
    """
    if not png:
        return None
    if expected_sha256 and hashlib.sha256(png).hexdigest() != expected_sha256:
        return None
    try:
        width, height = ImageReader(io.BytesIO(png)).getSize()
    except Exception:  # noqa: BLE001 - any unreadable image prints as a blank line
        return None
    if width <= 0 or height <= 0:
        return None
    return png, (int(width), int(height))
