"""The canonical content of an agreement version and its SHA-256 content hash.

At signing the content is frozen into ``Agreement.signed_content`` and hashed; the printed copy's
QR code carries the hash, and verification recomputes it from the stored content.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from fieldapp.agreements.models import Agreement

CONTENT_FORMAT = 1


def canonical_content(agreement: Agreement) -> dict[str, Any]:
    """The agreement's terms as plain data, in a stable shape (the thing that is signed)."""
    family = agreement.family
    return {
        "format": CONTENT_FORMAT,
        "id": str(agreement.id),
        "number": agreement.number,
        "version_no": agreement.version_no,
        "kind": agreement.kind,
        "supersedes_id": str(agreement.supersedes_id) if agreement.supersedes_id else None,
        "family": {
            "id": str(family.id),
            "code": family.code,
            "head_name": family.head_name,
            "dni": family.dni,
        },
        "community": {"code": family.community.code, "name": family.community.name},
        "period": {
            "start": agreement.period_start.isoformat(),
            "end": agreement.period_end.isoformat(),
        },
        "commitments": [
            {"code": c.commitment_type.code, "text_es": c.text_es, "text_en": c.text_en}
            for c in sorted(agreement.commitments, key=lambda c: (c.position, c.text_es))
            if not c.voided
        ],
        "benefits": [
            {
                "code": b.benefit_type.code,
                "name_es": b.benefit_type.name_es,
                "name_en": b.benefit_type.name_en,
                "quantity": str(Decimal(b.quantity).quantize(Decimal("0.01"))),
                "unit": b.unit,
                "schedule": b.schedule,
            }
            for b in sorted(agreement.benefits, key=lambda b: (b.position, b.unit))
            if not b.voided
        ],
        "signed_place": agreement.signed_place,
        "signed_on_paper": agreement.signed_on_paper,
        "signatures": [
            {"role": s.signer_role, "name": s.signer_name, "image_sha256": s.image_sha256}
            for s in sorted(agreement.signatures, key=lambda s: (s.signer_role, s.signer_name))
            if not s.voided
        ],
    }


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``content`` serialised canonically (sorted keys, no spaces, UTF-8)."""
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def content_verifies(content: Any, stored_hash: Any) -> bool:
    """Whether ``content`` (signed content as stored or pushed) hashes to ``stored_hash``: the
    check behind ``/verify``, activation and central's sync rules (a pure function of values)."""
    if not isinstance(content, dict) or not content or not isinstance(stored_hash, str):
        return False
    # Always content_hash's own bytes: orjson would be faster but writes some floats otherwise
    # (1e+16 / 1e16), and /verify recomputes with content_hash.
    try:
        return content_hash(content) == stored_hash
    except (TypeError, ValueError):  # not JSON-serialisable content
        return False
