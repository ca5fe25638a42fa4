"""The rules an attachment's row keeps, whether it comes from a form or from a node's push."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from fieldapp.errors import ValidationFailed
from fieldapp.media.models import KINDS, OWNER_TABLES
from fieldapp.media.storage import is_hash

#: The longest caption kept.
CAPTION_MAX = 500
#: Types the app stores (what it re-encodes to).
STORED_MIMES = ("image/jpeg",)


def check_attachment(values: dict[str, Any], max_bytes: int) -> None:
    """Refuse an attachment row whose values break a rule.

    :param values: the row's columns (``owner_table``, ``kind``, ``caption``, ``sha256``,
        ``mime``, ``size``, ``width``, ``height``, ``lat``, ``lon``).
    :raises ValidationFailed: naming the field (``details["field"]``).
    """
    from fieldapp.media.owners import OWNERS

    table = values.get("owner_table")
    if table not in OWNER_TABLES:
        raise ValidationFailed(_l("Photos can be attached to a family, an agreement, a delivery "
                                  "or a visit."), field="owner_table")
    if values.get("kind") not in KINDS or values.get("kind") not in OWNERS[table][1]:
        raise ValidationFailed(_l("This kind of attachment does not fit this record."),
                               field="kind")
    caption = values.get("caption")
    if caption is not None and (not isinstance(caption, str) or len(caption) > CAPTION_MAX):
        raise ValidationFailed(_l("A caption may be at most %(n)s characters.", n=CAPTION_MAX),
                               field="caption")
    if not is_hash(values.get("sha256")) or values.get("mime") not in STORED_MIMES:
        raise ValidationFailed(_l("This attachment's file is not one the app stored."),
                               field="file")
    for column in ("size", "width", "height"):
        number = values.get(column)
        if not isinstance(number, int) or number <= 0:
            raise ValidationFailed(_l("This attachment's file is not one the app stored."),
                                   field="file")
    if values["size"] > max_bytes:
        raise ValidationFailed(_l("This attachment's file is larger than the app accepts."),
                               field="file")
    lat, lon = values.get("lat"), values.get("lon")
    if (lat is None) != (lon is None) or (
            lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)):
        raise ValidationFailed(_l("The place where the photo was taken is not valid."),
                               field="lat")
