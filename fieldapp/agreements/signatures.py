"""Signatures drawn on the tablet: checked, re-encoded and stored as PNG.

The signature pad (``static/js/signature-pad.js``) posts a ``data:image/png;base64,...`` URL in a
hidden field. Nothing of what the browser sent is stored as is: the image must decode as a PNG
within the size and dimension limits, must hold some ink, and is re-encoded by Pillow (which drops
any metadata or trailing bytes) before its SHA-256 is taken.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from fieldapp.agreements.models import Signature
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db

DATA_URL_PREFIX = "data:image/png;base64,"
#: Defaults; each can be changed in the configuration (``SIGNATURE_MAX_BYTES`` ...). The
#: ``#:`` comments are the settings' documentation (``tools/config_table.py``).
LIMITS = {
    #: Largest decoded signature PNG (bytes).
    "SIGNATURE_MAX_BYTES": 256 * 1024,
    #: Accepted widths of a signature image (pixels).
    "SIGNATURE_MIN_WIDTH": 200,
    "SIGNATURE_MAX_WIDTH": 2000,
    #: Accepted heights of a signature image (pixels).
    "SIGNATURE_MIN_HEIGHT": 60,
    "SIGNATURE_MAX_HEIGHT": 1000,
}


@dataclass(frozen=True)
class SignatureImage:
    """A checked signature image, ready to store."""

    png: bytes
    width: int
    height: int
    sha256: str


def _limit(name: str) -> int:
    return int(current_app.config.get(name, LIMITS[name]))


def decode_signature(data_url: str | None, field: str) -> SignatureImage:
    """Check a signature pad's data URL and return the re-encoded PNG.

    :param field: the form field the data came from (named in the error).
    :raises ValidationFailed: not a PNG data URL, too large, wrong dimensions or blank.
    """

    def fail(message: Any) -> ValidationFailed:
        return ValidationFailed(message, field=field)

    if not data_url or not data_url.strip():
        raise fail(_l("Sign on the pad, please."))
    data_url = data_url.strip()
    if not data_url.startswith(DATA_URL_PREFIX):
        raise fail(_l("The signature must be a PNG image from the signature pad."))
    encoded = data_url[len(DATA_URL_PREFIX):]
    max_bytes = _limit("SIGNATURE_MAX_BYTES")
    if len(encoded) > (max_bytes * 4) // 3 + 8:
        raise fail(_l("The signature image is too large (at most %(kb)s KB).",
                      kb=max_bytes // 1024))
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise fail(_l("The signature must be a PNG image from the signature pad.")) from None
    if len(raw) > max_bytes:
        raise fail(_l("The signature image is too large (at most %(kb)s KB).",
                      kb=max_bytes // 1024))
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise fail(_l("The signature must be a PNG image from the signature pad."))
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as img:
            width, height = img.size
            _check_dimensions(width, height, fail)
            img.load()
            flat = _flatten(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise fail(_l("The signature must be a PNG image from the signature pad.")) from None
    if _is_blank(flat):
        raise fail(_l("The signature pad is empty. Sign on it, please."))
    out = io.BytesIO()
    flat.save(out, format="PNG", compress_level=3)
    png = out.getvalue()
    return SignatureImage(png=png, width=width, height=height,
                          sha256=hashlib.sha256(png).hexdigest())


def _check_dimensions(width: int, height: int, fail: Any) -> None:
    if not (_limit("SIGNATURE_MIN_WIDTH") <= width <= _limit("SIGNATURE_MAX_WIDTH")
            and _limit("SIGNATURE_MIN_HEIGHT") <= height <= _limit("SIGNATURE_MAX_HEIGHT")):
        raise fail(_l(
            "The signature image has the wrong size (%(width)s×%(height)s pixels).",
            width=width, height=height,
        ))


def _flatten(img: Image.Image) -> Image.Image:
    """The image on a white background, in grey levels (a signature needs no colour)."""
    rgba = img.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:  # opaque (the pad paints white first)
        return rgba.convert("L")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("L")


def _is_blank(grey: Image.Image) -> bool:
    """Whether no pixel is dark enough to be ink."""
    return grey.point(lambda v: 255 if v < 160 else 0).getbbox() is None


def add_signature(
    *,
    role: str,
    name: str,
    signed_at: datetime,
    image: SignatureImage | None = None,
    agreement_id: uuid.UUID | None = None,
    delivery_id: uuid.UUID | None = None,
    dni: str | None = None,
    place: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Signature:
    """Add a signature row (with its image, or without one for a paper signature)."""
    signature = Signature(
        agreement_id=agreement_id,
        delivery_id=delivery_id,
        signer_role=role,
        signer_name=name,
        signer_dni=dni,
        image_png=image.png if image else None,
        image_sha256=image.sha256 if image else None,
        width=image.width if image else None,
        height=image.height if image else None,
        signed_at=signed_at,
        place=place,
        lat=lat,
        lon=lon,
    )
    db.session.add(signature)
    return signature
