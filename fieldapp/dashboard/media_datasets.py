"""The photos and scans as a dataset: one row per attachment with the link to its file.

For verifiers sampling evidence: which record each photo or scan belongs to, its kind, caption,
SHA-256 (to check a downloaded file), size and the link (``/media/<id>``, opened by someone
who may see the family). The place and time a photo was taken are not exported (personal
data kept by choice). Filtered by the day it was attached and the community.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from fieldapp.communities.models import Community
from fieldapp.dashboard.conditions import in_community
from fieldapp.dashboard.datasets import Col, Dataset, family_cols, select_columns
from fieldapp.dashboard.filters import Filters
from fieldapp.families.models import Family
from fieldapp.families.privacy import private
from fieldapp.media.models import Attachment


def _attachments_cols() -> list[Col]:
    return [
        Col("attachment_id", _l("Attachment id"), Attachment.id, "uuid"),
        *family_cols(),
        Col("record_table", _l("Record"), Attachment.owner_table, verbatim=True),
        Col("record_id", _l("Record id"), Attachment.owner_id, "uuid"),
        Col("kind", _l("What it shows"), Attachment.kind, verbatim=True),
        # A family that withdrew its consent: neither the caption nor the link (a photo of
        # its house, a scan bearing its name are personal data; families/privacy.py).
        Col("caption", _l("Caption"), private(Attachment.caption)),
        Col("sha256", _l("SHA-256"), Attachment.sha256, verbatim=True),
        Col("size_bytes", _l("Size (bytes)"), Attachment.size, "int"),
        Col("width", _l("Width (px)"), Attachment.width, "int"),
        Col("height", _l("Height (px)"), Attachment.height, "int"),
        Col("recorded_by", _l("Attached by"), Attachment.recorded_by),
        Col("attached_at", _l("Attached at"), Attachment.created_at, "datetime"),
        Col("file_link", _l("File"), private(Attachment.id), "media_link"),
    ]


def _attachments(f: Filters) -> Select[Any]:
    start = datetime.combine(f.date_from, time.min, tzinfo=UTC)
    end = datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=UTC)
    return (
        select_columns(_attachments_cols())
        .select_from(Attachment)
        .join(Family, Family.id == Attachment.family_id)
        .join(Community, Community.id == Family.community_id)
        .where(Attachment.voided.is_(False), Attachment.created_at >= start,
               Attachment.created_at < end, *in_community(f, Family.community_id))
        .order_by(Attachment.created_at, Attachment.id)
    )


#: This module's datasets, in the order the dashboard offers them.
DATASETS: tuple[Dataset, ...] = (
    Dataset("attachments", _l("Photos and scans"), _attachments_cols, _attachments),
)
