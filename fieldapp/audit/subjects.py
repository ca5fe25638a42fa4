"""What the audit history pages are about: subjects (a family, an agreement) and their records.

The history of an agreement lists the entries of the agreement and of every record about it
(signatures, deliveries, visits, sanctions). Those records belong to domains that depend on the
audit log, not the other way round, so each domain registers — from its blueprint's setup — how
to load a subject and which of its records' ids belong to a subject's history; the audit views
ask this registry and import no other domain. A lower domain's view that needs a higher
domain's record by id asks the same registry (the agreement views load a delivery, registered
by deliveries, to check who may see its receipt signature).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

#: Key of the registry in ``app.extensions``.
EXTENSION_KEY = "fieldapp.audit_subjects"

Loader = Callable[[uuid.UUID], Any]
RelatedIds = Callable[[uuid.UUID], Any]  # a subject's id -> a SELECT of record ids


@dataclass
class _Subject:
    load: Loader | None = None
    related: dict[str, RelatedIds] = field(default_factory=dict)


def _registry(app: Flask) -> dict[str, _Subject]:
    return app.extensions.setdefault(EXTENSION_KEY, {})


def register_subject(app: Flask, kind: str, load: Loader) -> None:
    """``load(id)`` returns the ``kind`` record (``"family"``, ``"agreement"``, ``"delivery"``)
    or ``None``."""
    _registry(app).setdefault(kind, _Subject()).load = load


def register_related(app: Flask, kind: str, name: str, ids: RelatedIds) -> None:
    """``ids(subject_id)``: a SELECT of the ids of ``name`` records in a ``kind``'s history."""
    _registry(app).setdefault(kind, _Subject()).related[name] = ids


def load_subject(kind: str, subject_id: uuid.UUID) -> Any:
    """The ``kind`` record ``subject_id``, or ``None`` (unknown, or no domain registered it)."""
    subject = _registry(current_app).get(kind)
    return subject.load(subject_id) if subject is not None and subject.load else None


def related_ids(kind: str, subject_id: uuid.UUID) -> list[Any]:
    """SELECTs of the ids of every record registered as part of the subject's history."""
    subject = _registry(current_app).get(kind)
    return [ids(subject_id) for ids in subject.related.values()] if subject else []
