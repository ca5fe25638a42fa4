"""Uploaded images decoded, checked and re-encoded (pure: bytes in, bytes out).

Nothing an upload says about itself is trusted: not its name, not its ``Content-Type``. The
bytes are decoded with Pillow (its decompression-bomb guard on, and the pixel count checked
before any pixel is decoded), turned upright by their EXIF orientation, reduced to at most
``max_side`` pixels on the long side and re-encoded as JPEG. The new file carries no EXIF (no
camera GPS, no serial number): capture time and place are kept as fields, by choice.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from fieldapp.errors import AppError

#: Image formats an upload may be in (what Pillow names them); each is re-encoded as JPEG.
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"})


class ImageRefused(AppError):
    """An upload that is not an image the app keeps (a clear reason, never a 500)."""

    code = "image_refused"
    status = 400
    message = _l("This file is not a photo or a scan the app can keep.")


class UploadTooLarge(ImageRefused):
    code = "upload_too_large"
    status = 413


@dataclass(frozen=True)
class StoredImage:
    """An image ready to store: its bytes and what was read from them."""

    data: bytes
    mime: str
    width: int
    height: int


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in text[:1024]


def reduce_image(data: bytes, *, max_bytes: int, max_pixels: int, max_side: int,
                 quality: int) -> StoredImage:
    """Decode ``data``, check it and re-encode it as a JPEG of at most ``max_side`` pixels on
    its long side, without EXIF.

    :raises UploadTooLarge: ``data`` is longer than ``max_bytes``.
    :raises ImageRefused: empty, not an image (a renamed file), an SVG, a format not accepted,
        more than ``max_pixels`` pixels (a decompression bomb), or truncated.
    """
    if len(data) > max_bytes:
        raise UploadTooLarge(
            _l("This file is %(size)s MB; a photo may be at most %(max)s MB.",
               size=f"{len(data) / 1e6:.1f}", max=f"{max_bytes / 1e6:.0f}"))
    if not data:
        raise ImageRefused(_l("The file is empty."))
    if _looks_like_svg(data[:2048]):
        raise ImageRefused(_l("Drawings (SVG) are not accepted: send a photo or a scan."))
    Image.init()  # every plugin registered (``formats=`` names them before a first open)
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS and refuses past twice that: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
            width, height = image.size
            if width * height > max_pixels or width <= 0 or height <= 0:
                raise ImageRefused(
                    _l("This image is %(w)s × %(h)s pixels, more than the app accepts.",
                       w=width, h=height), reason="too_many_pixels")
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at a smaller scale
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, "white")
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRefused(_l("This image has more pixels than the app accepts."),
                           reason="too_many_pixels") from error
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        # A renamed document, a truncated or damaged image, a format Pillow cannot decode.
        raise ImageRefused(
            _l("This file is not a photo or scan the app can read (or it is damaged).")
        ) from error
    return StoredImage(out.getvalue(), "image/jpeg", image.width, image.height)


def thumbnail(data: bytes, side: int) -> bytes:
    """A JPEG of at most ``side`` pixels on its long side, of an image the app stored."""
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.draft("RGB", (side, side))
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=75)
    return out.getvalue()
