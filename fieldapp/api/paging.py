"""Pages of a dataset for the API: keyset pages of every row, or of the rows changed since a
cursor, read from central's change log.

**Cursors** are opaque to clients and signed (itsdangerous, with the app's secret key): a
cursor names its dataset, the change-log number (``server_seq``) it reads up to (the
*horizon*), the number it reads from (an incremental fetch) and the last key sent. A tampered
cursor, or one of another dataset, is refused with a stable code.

- **A full fetch** sends the dataset's rows in the order of their key (``WHERE key > last
  ORDER BY key LIMIT n``: never ``OFFSET``, so a page costs the same at the end as at the start
  and a row added meanwhile is neither skipped nor sent twice). Its answers carry ``since``, a
  cursor at the change log's horizon when the fetch began.
- **An incremental fetch** (``?since=``) sends the rows of the dataset that a change logged
  after that cursor (up to the horizon when the fetch began) touched (:mod:`.catalogue`), each
  once, with its values now; a touched key no longer in the dataset (deleted, voided, moved out
  of the token's communities) is listed under ``deleted``. Its last page's ``since`` starts the
  next one: each change is seen exactly once across fetches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, or_, select, union

from fieldapp.api.catalogue import ApiDataset
from fieldapp.dashboard.filters import all_records
from fieldapp.errors import ApiRefused
from fieldapp.extensions import db
from fieldapp.nodes.models import SYNC_TABLES

CURSOR_VERSION = 1
LIMIT_DEFAULT = 1000
LIMIT_MAX = 10_000


@dataclass(frozen=True)
class Cursor:
    """Where a traversal stands: ``since`` is ``None`` for a full fetch."""

    dataset: str
    horizon: int
    since: int | None = None
    after: uuid.UUID | None = None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="fieldapp-api-cursor")


def encode(cursor: Cursor, kind: str) -> str:
    """The opaque text of ``cursor``; ``kind`` is ``next`` (a page) or ``since`` (a start)."""
    return _serializer().dumps([CURSOR_VERSION, kind, cursor.dataset, cursor.horizon,
                                cursor.since, cursor.after.hex if cursor.after else None])


def decode(text: str, kind: str, dataset: str) -> Cursor:
    """The cursor ``text`` names, checked.

    :raises ApiRefused: ``invalid_cursor`` (tampered, truncated, of the other kind) or
        ``cursor_other_dataset``.
    """
    try:
        version, got_kind, name, horizon, since, after = _serializer().loads(text)
        if version != CURSOR_VERSION or got_kind != kind:
            raise ValueError(got_kind)
        cursor = Cursor(str(name), int(horizon), None if since is None else int(since),
                        None if after is None else uuid.UUID(hex=after))
    except (BadSignature, ValueError, TypeError):
        raise ApiRefused("invalid_cursor", 400, _l(
            "This cursor is not one this server gave, or it was changed.")) from None
    if cursor.dataset != dataset:
        raise ApiRefused("cursor_other_dataset", 400, _l(
            "This cursor belongs to another dataset: %(name)s.", name=cursor.dataset))
    return cursor


def horizon() -> int:
    """The last change-log number committed on central."""
    t = SYNC_TABLES.state
    return int(db.session.execute(select(t.c.value).where(t.c.key == "server_seq")
                                  ).scalar_one_or_none() or 0)


def parse_limit(raw: str | None) -> int:
    """The page size asked for, 1 to :data:`LIMIT_MAX` (default :data:`LIMIT_DEFAULT`).

    :raises ApiRefused: ``bad_page_size``.
    """
    if raw is None or raw == "":
        return LIMIT_DEFAULT
    if not raw.isdigit() or not 1 <= int(raw) <= LIMIT_MAX:
        raise ApiRefused("bad_page_size", 400, _l(
            "The page size (limit) must be a whole number from 1 to %(max)s.", max=LIMIT_MAX),
            max=LIMIT_MAX)
    return int(raw)


def scoped_select(api: ApiDataset, communities: list[uuid.UUID], personal: bool,
                  raw: bool = False) -> Select[Any]:
    """The dataset's query over every record, narrowed to ``communities`` (none: all), with
    the columns the token sees; ``raw`` gives the database's own values (for the CSV)."""
    from fieldapp.dashboard.streaming import raw_select

    stmt = api.dataset.build(all_records())
    if communities:
        stmt = stmt.where(api.community.in_(communities))
    if not personal:
        stmt = stmt.with_only_columns(
            *[c for c in stmt.selected_columns if c.name not in api.personal],
            maintain_column_froms=True)
    return raw_select(stmt) if raw else stmt


def page_rows(api: ApiDataset, base: Select[Any], cursor: Cursor, limit: int,
              communities: list[uuid.UUID]) -> tuple[list[Any], list[uuid.UUID],
                                                      uuid.UUID | None]:
    """One page: ``(rows, deleted keys, the last key of the page or None when it is the last)``.

    :param base: :func:`scoped_select` of the token (its ``communities``).
    """
    key = api.key_col().expr
    key_at = [c.name for c in base.selected_columns].index(api.key)
    if cursor.since is None:
        rows = _next_rows(key, base, cursor.after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, [], (_as_uuid(rows[-1][key_at]) if more else None)
    keys = _touched_keys(api, cursor, limit + 1, communities)
    more = len(keys) > limit
    keys = keys[:limit]
    if not keys:
        return [], [], None
    rows = db.session.connection().execute(
        base.where(key.in_(keys)).order_by(None).order_by(key)).all()
    present = {_as_uuid(r[key_at]) for r in rows}
    deleted = [k for k in keys if k not in present]
    return rows, deleted, (keys[-1] if more else None)


def _next_rows(key: Any, base: Select[Any], after: uuid.UUID | None, count: int) -> list[Any]:
    """The dataset's first ``count`` rows after the key ``after``, in key order.

    The keys are read first from their own table's primary key (``WHERE key > after ORDER BY
    key LIMIT n``), then the dataset's rows between the first and last of those keys: the
    database reads a page's rows
    only, never every row after the cursor to sort them (a dataset's own filters, read as a
    scan for the exports, would otherwise make each page cost the rest of the table). Keys the
    dataset leaves out (a voided record) are passed over, a window at a time.
    """
    rows: list[Any] = []
    position = after
    while len(rows) < count:
        wanted = count - len(rows)
        window = select(key).order_by(key).limit(wanted)
        if position is not None:
            window = window.where(key > position)
        keys = list(db.session.execute(window).scalars())
        if not keys:
            break
        # The window's keys as a range of the key: one condition the index answers, however
        # many keys.
        page = base.where(key <= keys[-1])
        if position is not None:
            page = page.where(key > position)
        # Core, not the ORM's execute: the dataset selects columns only, and the ORM's row
        # loading cost a sixth of a full fetch.
        rows += db.session.connection().execute(page.order_by(None).order_by(key)).all()
        position = keys[-1]
        if len(keys) < wanted:
            break
    return rows


def _as_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    text = str(value)
    return uuid.UUID(hex=text) if len(text) == 32 else uuid.UUID(text)


def _touched_keys(api: ApiDataset, cursor: Cursor, limit: int,
                  communities: list[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """The keys of the dataset's rows that changes in (since, horizon] touched, after the
    cursor's last key, in order: each once however many changes touched it."""
    changes = SYNC_TABLES.changes
    parts = []
    for table, touch in api.touches:
        ids = select(changes.c.row_id).where(
            changes.c.table_name == table,
            changes.c.server_seq > cursor.since,
            changes.c.server_seq <= cursor.horizon,
        )
        if communities:
            ids = ids.where(or_(changes.c.community_id.in_(communities),
                                changes.c.community_id2.in_(communities),
                                changes.c.community_id.is_(None)))
        parts.append(touch(ids))
    touched = union(*parts).subquery()
    column = touched.c[0]
    stmt = select(column).order_by(column).limit(limit)
    if cursor.after is not None:
        stmt = stmt.where(column > cursor.after)
    return [_as_uuid(k) for k in db.session.execute(stmt).scalars()]
