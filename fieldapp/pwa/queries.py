"""Offline reference data: compact, paged tables of what the logged-in user may see.

Each dataset is a list of columns and rows of values (not objects: a third of the bytes), paged
by id (keyset). A dataset's *stamp* changes whenever a row in the user's scope changes, so the
tablet fetches again only what changed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from fieldapp.agreements.models import (
    Agreement,
    AgreementCommitment,
    BenefitType,
    CommitmentType,
)
from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family

#: Rows per page unless the client asks for fewer.
PAGE_SIZE = 1000


@dataclass(frozen=True)
class Dataset:
    """A table offered offline: its model, columns and how the user's scope narrows it."""

    model: Any
    columns: tuple[str, ...]
    scope: Callable[[Select[Any], list[uuid.UUID] | None], Select[Any]]


def _no_scope(stmt: Select[Any], ids: list[uuid.UUID] | None) -> Select[Any]:
    return stmt


def _community_scope(stmt: Select[Any], ids: list[uuid.UUID] | None) -> Select[Any]:
    return stmt if ids is None else stmt.where(Community.id.in_(ids))


def _family_scope(stmt: Select[Any], ids: list[uuid.UUID] | None) -> Select[Any]:
    return stmt if ids is None else stmt.where(Family.community_id.in_(ids))


def _agreement_scope(stmt: Select[Any], ids: list[uuid.UUID] | None) -> Select[Any]:
    if ids is None:
        return stmt
    families = select(Family.id).where(Family.community_id.in_(ids))
    return stmt.where(Agreement.family_id.in_(families))


def _commitment_scope(stmt: Select[Any], ids: list[uuid.UUID] | None) -> Select[Any]:
    if ids is None:
        return stmt
    agreements = (
        select(Agreement.id)
        .join(Family, Family.id == Agreement.family_id)
        .where(Family.community_id.in_(ids))
    )
    return stmt.where(AgreementCommitment.agreement_id.in_(agreements))


DATASETS: dict[str, Dataset] = {
    "communities": Dataset(Community, ("id", "code", "name", "district"), _community_scope),
    "families": Dataset(
        Family,
        ("id", "code", "head_given_names", "head_surname", "dni", "community_id", "status"),
        _family_scope,
    ),
    "agreements": Dataset(
        Agreement,
        ("id", "number", "family_id", "year", "status", "period_start", "period_end",
         "version_no"),
        _agreement_scope,
    ),
    # What a compliance visit checks, per agreement (the offline visit form builds its rows).
    "agreement_commitments": Dataset(
        AgreementCommitment,
        ("id", "agreement_id", "commitment_type_id", "text_es", "text_en", "position"),
        _commitment_scope,
    ),
    "benefit_types": Dataset(
        BenefitType,
        ("id", "code", "category", "name_es", "name_en", "default_unit", "active",
         "unit_one_es", "unit_other_es", "unit_one_en", "unit_other_en"),
        _no_scope,
    ),
    "commitment_types": Dataset(
        CommitmentType, ("id", "code", "text_es", "text_en", "active"), _no_scope
    ),
}


def _base(dataset: Dataset, scope_ids: list[uuid.UUID] | None) -> Select[Any]:
    stmt = select(*(getattr(dataset.model, c) for c in dataset.columns)).where(
        dataset.model.voided.is_(False)
    )
    return dataset.scope(stmt, scope_ids)


def dataset_stamp(name: str, scope_ids: list[uuid.UUID] | None) -> dict[str, Any]:
    """The dataset's row count and a stamp that changes when any row in scope changes.

    Voided rows count towards the stamp (voiding a row must refresh the tablet's copy).
    """
    dataset = DATASETS[name]
    model = dataset.model
    stmt = dataset.scope(
        select(func.count(model.id), func.max(model.updated_at), func.sum(model.version)),
        scope_ids,
    ).select_from(model)
    total, last_change, versions = db.session.execute(stmt).one()
    live = db.session.scalar(
        select(func.count()).select_from(_base(dataset, scope_ids).subquery())
    )
    scope = ",".join(sorted(str(i) for i in scope_ids)) if scope_ids is not None else "*"
    # The columns too: a tablet holding a dataset without a column added since takes it again.
    columns = ",".join(dataset.columns)
    raw = f"{name}|{columns}|{total}|{last_change}|{versions}|{scope}"
    return {"stamp": hashlib.sha256(raw.encode()).hexdigest()[:20], "count": live}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # UUIDs, dates, decimals


def dataset_page(name: str, scope_ids: list[uuid.UUID] | None, after: uuid.UUID | None,
                 limit: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of a dataset, ordered by id, starting after ``after``.

    :returns: ``{"columns": [...], "rows": [[...], ...], "next": id or None}``.
    """
    dataset = DATASETS[name]
    stmt = _base(dataset, scope_ids).order_by(dataset.model.id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(dataset.model.id > after)
    rows = db.session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "columns": list(dataset.columns),
        "rows": [[_json_value(v) for v in row] for row in rows],
        "next": str(rows[-1][0]) if more and rows else None,
    }
