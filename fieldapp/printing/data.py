"""What the printouts show, as plain data read from the database beforehand.

The PDF builders take these objects (and translated labels) and nothing else: no database, no
request, so a batch renders the same in a view, the CLI or a benchmark.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from reportlab.lib.utils import ImageReader

from fieldapp.formatting import UnitForms


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


@dataclass(frozen=True)
class ScanPrint:
    """A scan of the paper copy signed in ink, printed as a page after the agreement."""

    data: bytes  #: a JPEG the app stored (checked against its hash when read)
    width: int
    height: int
    sha256: str


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
    #: The catalogue's unit forms: the benefits' units are shown by quantity ("1 botiquín").
    units: tuple[UnitForms, ...] = ()
    #: Scans of the paper copy, each printed as a page (only when asked for).
    scans: list[ScanPrint] = field(default_factory=list)

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


@dataclass
class ReceiptPrint:
    """A benefit delivery to print as a receipt the family signs or thumbprints."""

    code: str
    family_name: str
    family_code: str
    family_dni: str | None
    community: str
    agreement_number: str
    item: str
    quantity: Any
    unit: str
    delivered_on: Any
    delivered_by: str
    reverses_code: str | None = None
    reason: str | None = None
    signature: SignaturePrint | None = None
    #: The catalogue's unit forms: the unit is shown by quantity ("1 kit", "3 kits").
    units: tuple[UnitForms, ...] = ()
    #: The delivery's photos (a receipt signed on paper, a thumbprint), after the receipt.
    photos: list[ScanPrint] = field(default_factory=list)


@dataclass
class AttendanceRow:
    """A family line of an attendance sheet."""

    code: str
    head_name: str
    dni: str | None = None
    registered: bool = False


@dataclass
class AttendanceSheet:
    """A training's attendance sheet: the session (if any) and the families of the community."""

    community: str
    community_code: str
    rows: list[AttendanceRow]
    session_code: str | None = None
    topic: str | None = None
    held_on: Any = None
    place: str | None = None
    trainer: str | None = None
    hours: Any = None


@dataclass
class FamilyCard:
    """A family's QR card: what is printed, and the text the QR holds (the family code)."""

    code: str
    head_name: str
    community: str


def printable_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """``content`` with every part the agreement PDF reads present (empty when missing).

    Signed content is frozen and hashed; should a stored copy be damaged, the PDF still prints
    what there is (and the verification page says it does not match) instead of failing.
    """
    out = dict(content) if isinstance(content, Mapping) else {}
    out["number"] = str(out.get("number") or "")
    out["family"] = {"head_name": "", "dni": None, "code": ""} | _mapping(out.get("family"))
    out["community"] = {"name": "", "code": ""} | _mapping(out.get("community"))
    period = _mapping(out.get("period"))
    for key in ("start", "end"):
        value = str(period.get(key) or "")
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            value = ""
        period[key] = value
    out["period"] = period
    out["commitments"] = [c for c in out.get("commitments") or [] if isinstance(c, dict)]
    out["benefits"] = [b for b in out.get("benefits") or []
                       if isinstance(b, dict) and _is_number(b.get("quantity"))]
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _is_number(value: Any) -> bool:
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True
