"""Reading attachments: a record's strip, the files a node lacks, the store checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from fieldapp.extensions import db
from fieldapp.media.models import Attachment, MediaRequest, OnCentral
from fieldapp.media.storage import MediaStorage, current_storage
from fieldapp.models import utcnow


@dataclass(frozen=True)
class Shown:
    """An attachment as a page shows it: whether its bytes are here yet."""

    attachment: Attachment
    received: bool
    #: Whether the reader may void it (a coordinator, or who took it before it was sent).
    voidable: bool = False
    #: Not here because this node pruned its copy: central holds it.
    on_central: bool = False
    #: Central: not received, and a coordinator asked its node for the original.
    requested: bool = False


def attachments_of(owner_id: uuid.UUID, kind: str | None = None,
                   owner_table: str | None = None, *,
                   with_voided: bool = False) -> list[Shown]:
    """The live attachments of one record (and its voided ones when ``with_voided``: an
    auditor's view), oldest first, each with whether its file is here.

    A family's own photos are found by their family (``owner_table="families"``): those of a
    family merged into it, re-pointed by the merge, are shown with its own.
    """
    if owner_table == "families":
        stmt = select(Attachment).where(Attachment.family_id == owner_id,
                                        Attachment.owner_table == "families")
    else:
        stmt = select(Attachment).where(Attachment.owner_id == owner_id)
    if not with_voided:
        stmt = stmt.where(Attachment.voided.is_(False))
    if kind is not None:
        stmt = stmt.where(Attachment.kind == kind)
    from flask import current_app

    store = current_storage()
    found = [(a, store.has(a.sha256)) for a in db.session.execute(
        stmt.order_by(Attachment.created_at, Attachment.id)).scalars()]
    absent = [a.sha256 for a, here in found if not here and not a.voided]
    central = current_app.config["ROLE"] == "central"
    pruned = pruned_hashes(absent) if absent and not central else set()
    requested = requested_hashes(absent) if absent and central else set()
    return [Shown(a, here, on_central=a.sha256 in pruned, requested=a.sha256 in requested)
            for a, here in found]


def pruned_hashes(hashes: list[str]) -> set[str]:
    """Those of ``hashes`` this node pruned (central holds them)."""
    found: set[str] = set()
    for start in range(0, len(hashes), 500):
        found.update(db.session.execute(select(OnCentral.sha256).where(
            OnCentral.sha256.in_(hashes[start:start + 500]),
            OnCentral.pruned_at.is_not(None))).scalars())
    return found


@dataclass(frozen=True)
class StoreUsage:
    """How full this installation's media store is."""

    used: int
    #: ``MEDIA_QUOTA_MB`` in bytes (0: no quota).
    quota: int
    #: Room left on the disk (``None``: not known).
    free: int | None
    #: ``MEDIA_MIN_FREE_MB`` in bytes: the room always left for the database.
    min_free: int

    @property
    def over_quota(self) -> bool:
        return bool(self.quota) and self.used > self.quota

    def full_for(self, size: int) -> bool:
        """Whether storing ``size`` more bytes would leave less room than ``min_free``."""
        return self.free is not None and self.free - size < self.min_free


#: Seconds the store's size is reused (pages show it; measuring walks every file).
USAGE_TTL_S = 60.0
_USAGE_KEY = "fieldapp.media_usage"


def forget_usage() -> None:
    """Measure the store's size again next time (a file was added or removed)."""
    from flask import current_app

    current_app.extensions.pop(_USAGE_KEY, None)


def store_usage(store: MediaStorage | None = None) -> StoreUsage:
    """The store's size against ``MEDIA_QUOTA_MB`` and the disk's room (the size measured at
    most once a minute, or after this process added or removed a file)."""
    import time

    from flask import current_app

    store = store or current_storage()
    config = current_app.config
    cached = current_app.extensions.get(_USAGE_KEY)
    if cached is None or time.monotonic() - cached[0] > USAGE_TTL_S:
        cached = (time.monotonic(), store.usage())
        current_app.extensions[_USAGE_KEY] = cached
    mb = 1024 * 1024
    return StoreUsage(used=cached[1], quota=int(float(config["MEDIA_QUOTA_MB"]) * mb),
                      free=store.free_bytes(),
                      min_free=int(float(config["MEDIA_MIN_FREE_MB"]) * mb))


def has_scan(agreement_id: uuid.UUID) -> bool:
    """Whether a scan of the paper-signed agreement is attached (its file here or not)."""
    return db.session.execute(_A_SCAN, {"agreement": agreement_id}).first() is not None


#: Built once: /verify asks it on every request.
_A_SCAN = select(Attachment.id).where(
    Attachment.owner_id == bindparam("agreement"), Attachment.owner_table == "agreements",
    Attachment.kind == "scan", Attachment.voided.is_(False)).limit(1)


def attachment_links(owner_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The live attachments' ids of each owner (exports list links to them)."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for start in range(0, len(owner_ids), 500):
        for owner_id, attachment_id in db.session.execute(
                select(Attachment.owner_id, Attachment.id)
                .where(Attachment.owner_id.in_(owner_ids[start:start + 500]),
                       Attachment.voided.is_(False))
                .order_by(Attachment.created_at, Attachment.id)):
            found.setdefault(owner_id, []).append(attachment_id)
    return found


def referenced_hashes() -> dict[str, datetime]:
    """The hash of every attachment row (voided ones too: their files are kept), each with
    when its oldest row was attached."""
    return dict(db.session.execute(
        select(Attachment.sha256, func.min(Attachment.created_at)).group_by(Attachment.sha256)
    ).all())


@dataclass
class StoreCheck:
    """What ``fieldapp media check`` finds."""

    #: Named by a row younger than the grace period and not here yet: expected, not an error
    #: (the node that took it has not synced yet).
    waiting: list[str]
    #: Named by a row older than the grace period and not here: lost (an error).
    missing: list[str]
    #: Stored and named by no row (an error).
    orphaned: list[str]
    #: Stored bytes that no longer hash to their name (an error).
    damaged: list[str]
    #: Partial and temporary files of transfers and writes abandoned long ago, removed now.
    swept: int = 0
    #: Files this node pruned (central holds them): not missing.
    on_central: int = 0
    #: Central: files of a kind it takes on demand, not requested (kept on their node).
    on_demand: int = 0

    @property
    def failed(self) -> bool:
        """Whether anything found is an error (``fieldapp media check`` exits 1)."""
        return bool(self.missing or self.orphaned or self.damaged)


def check_store(store: MediaStorage | None = None, verify: bool = True,
                now: datetime | None = None) -> StoreCheck:
    """Files the rows name but the store lacks (waiting: not yet received, within
    ``MEDIA_MISSING_GRACE_HOURS`` of their attachment; missing: older, so lost), files no row
    names (orphaned), and files that do not hash to their name (damaged, when ``verify``).
    Partial files of abandoned transfers are removed first (``MEDIA_PARTIAL_MAX_HOURS``)."""
    from flask import current_app

    from fieldapp.media.storage import Damaged
    from sync.state import current_state

    store = store or current_storage()
    config = current_app.config
    max_age_s = float(config["MEDIA_PARTIAL_MAX_HOURS"]) * 3600
    state = current_state(current_app)
    swept = store.sweep(max_age_s)
    if state is not None and state.media is not None:
        swept += len(state.media.sweep_partials(max_age_s))
    wanted = referenced_hashes()
    stored = set(store.hashes())
    damaged = []
    if verify:
        for sha256 in sorted(stored & wanted.keys()):
            try:
                store.read(sha256)
            except Damaged:
                damaged.append(sha256)
    since = (now or utcnow()) - timedelta(hours=float(config["MEDIA_MISSING_GRACE_HOURS"]))
    absent = sorted(wanted.keys() - stored)
    on_central = pruned_hashes(absent)  # pruned here, kept on central: not missing
    absent = [h for h in absent if h not in on_central]
    on_demand: set[str] = set()
    if config["ROLE"] == "central" and absent:
        # Of a kind central takes on demand and not requested: kept on its node, not missing.
        on_demand = set(absent) - wanted_on_central(db.session, None, absent)
        absent = [h for h in absent if h not in on_demand]
    return StoreCheck(waiting=[h for h in absent if _aware(wanted[h]) > since],
                      missing=[h for h in absent if _aware(wanted[h]) <= since],
                      orphaned=sorted(stored - wanted.keys()), damaged=damaged, swept=swept,
                      on_central=len(on_central), on_demand=len(on_demand))


def _aware(moment: datetime) -> datetime:
    """A timestamp as UTC (SQLite gives them back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- what the sync engine asks (fieldapp/nodes/syncing.py wires them) ------------------------
def named_hashes(session: Session) -> list[str]:
    """The hash of every attachment this node holds (its scope's; voided ones too: their
    files are kept for auditors), but those central confirmed it holds."""
    confirmed = select(OnCentral.sha256).where(OnCentral.sha256 == Attachment.sha256)
    return list(session.execute(
        select(Attachment.sha256).where(~confirmed.exists()).distinct()).scalars())


def confirm_on_central(session: Session, hashes: list[str]) -> None:
    """Remember that central holds these files (committed by the caller)."""
    known = set(session.execute(select(OnCentral.sha256).where(
        OnCentral.sha256.in_(hashes))).scalars()) if hashes else set()
    session.add_all(OnCentral(sha256=h) for h in dict.fromkeys(hashes) if h not in known)


def node_may_move(session: Session, node: Any, sha256: str) -> bool:
    """Whether an attachment of the node's scope names the file (central); a voided one too
    (its file is kept for auditors)."""
    from fieldapp.families.models import Family

    stmt = (select(Attachment.id).join(Family, Family.id == Attachment.family_id)
            .where(Attachment.sha256 == sha256))
    if node.scope is not None:
        stmt = stmt.where(Family.community_id.in_(list(node.scope)))
    return session.execute(stmt.limit(1)).first() is not None


def eager_kinds(value: Any) -> set[str]:
    """``MEDIA_EAGER_KINDS`` as a set of kinds (a list, or a text "scan,receipt")."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return {str(item).strip() for item in items if str(item).strip()}


def wanted_on_central(session: Session, node: Any, hashes: list[str]) -> set[str]:
    """Central: which of ``hashes`` (files it lacks) it wants now: those an attachment of an
    eager kind names (``MEDIA_EAGER_KINDS``), and those a coordinator requested."""
    from flask import current_app

    kinds = eager_kinds(current_app.config["MEDIA_EAGER_KINDS"])
    wanted: set[str] = set()
    for start in range(0, len(hashes), 500):
        batch = hashes[start:start + 500]
        if kinds:
            wanted.update(session.execute(select(Attachment.sha256).where(
                Attachment.sha256.in_(batch), Attachment.kind.in_(sorted(kinds)))).scalars())
        wanted.update(session.execute(select(MediaRequest.sha256).where(
            MediaRequest.sha256.in_(batch))).scalars())
    return wanted


def requested_hashes(hashes: list[str]) -> set[str]:
    """Those of ``hashes`` a coordinator requested (central)."""
    found: set[str] = set()
    for start in range(0, len(hashes), 500):
        found.update(db.session.execute(select(MediaRequest.sha256).where(
            MediaRequest.sha256.in_(hashes[start:start + 500]))).scalars())
    return found
