"""The engine's own bookkeeping tables, defined on the application's metadata.

The app calls :func:`define_tables` with its declarative metadata (so Alembic and the naming
convention see them); both roles have every table, each role uses its half:

- field node: ``sync_outbox`` (captured operations numbered by ``node_seq``; what each sends in
  ``sync_outbox_payloads``), ``sync_state``
  (the node_seq counter, the pull cursor, last success/error), ``sync_quarantine`` (pulled rows
  that could not be applied), ``sync_log``;
- central: ``sync_changes`` (the change log ordered by ``server_seq``), ``sync_state`` (the
  server_seq counter, whose row lock orders commits), ``sync_node_state`` (last applied node_seq
  per node), ``sync_quarantine`` (operations refused), ``sync_conflicts``, ``sync_aliases``,
  ``sync_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)


class UTCDateTime(TypeDecorator):
    """Naive UTC in the database, timezone-aware (UTC) in Python (same as the app's type)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


#: Keys of ``sync_state`` created by the migration.
STATE_KEYS = ("node_seq", "server_seq", "cursor", "acked_seq")


@dataclass(frozen=True)
class SyncTables:
    """The engine's tables, as SQLAlchemy Core :class:`~sqlalchemy.Table` objects."""

    state: Table
    outbox: Table
    changes: Table
    node_state: Table
    quarantine: Table
    conflicts: Table
    aliases: Table
    log: Table
    outbox_payloads: Table

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in (self.state, self.outbox, self.changes, self.node_state,
                                      self.quarantine, self.conflicts, self.aliases, self.log,
                                      self.outbox_payloads))


def define_tables(metadata: MetaData) -> SyncTables:
    """Define (once) the engine's tables on ``metadata`` and return them."""
    if "sync_state" in metadata.tables:
        t = metadata.tables
        return SyncTables(t["sync_state"], t["sync_outbox"], t["sync_changes"],
                          t["sync_node_state"], t["sync_quarantine"], t["sync_conflicts"],
                          t["sync_aliases"], t["sync_log"], t["sync_outbox_payloads"])
    state = Table(
        "sync_state", metadata,
        Column("key", String(40), primary_key=True),
        Column("value", BigInteger, nullable=False, default=0),
        Column("text", Text),
        Column("at", UTCDateTime()),
    )
    outbox = Table(
        "sync_outbox", metadata,
        # node_seq: numbered in the transaction that captures the change, without gaps.
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("table_name", String(64), nullable=False),
        Column("row_id", Uuid(), nullable=False),
        Column("op", String(1), nullable=False),
        Column("captured_at", UTCDateTime(), nullable=False),
        Column("status", String(12), nullable=False, default="pending"),
        Column("error_code", String(40)),
        Column("error_message", Text),
        Column("done_at", UTCDateTime()),
        Index("ix_sync_outbox_status_seq", "status", "seq"),
        Index("ix_sync_outbox_row", "table_name", "row_id"),
    )
    outbox_payloads = Table(
        "sync_outbox_payloads", metadata,
        # Apart from the outbox row, so that marking an operation done (every one of them, once
        # central acknowledged it) rewrites a row of some 100 bytes, not the operation too.
        Column("seq", BigInteger, ForeignKey("sync_outbox.seq", onupdate="CASCADE",
                                             ondelete="CASCADE"),
               primary_key=True, autoincrement=False),
        # The operation as sent (one JSON object, frozen when captured: a retry sends the
        # same bytes, so central can tell a replay from a reused number).
        Column("payload", Text, nullable=False),
    )
    changes = Table(
        "sync_changes", metadata,
        # server_seq: assigned under the counter row's lock at commit, so commit order. On
        # SQLite an INTEGER primary key is the table's own row key: the log is stored in its
        # order, and an entry costs two B-trees, not three (migration 0011).
        Column("server_seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
               autoincrement=False),
        Column("table_name", String(64), nullable=False),
        Column("row_id", Uuid(), nullable=False),
        # u: upsert (the row's current state is sent), d: deleted, n: not distributed.
        Column("op", String(1), nullable=False),
        Column("community_id", Uuid()),
        Column("community_id2", Uuid()),
        # The node whose operation made the change (NULL for changes made on central) and
        # whether that node must receive it back (central merged or amended what it sent).
        Column("node_id", Uuid()),
        Column("node_seq", BigInteger),
        Column("echo", Boolean, nullable=False, default=False),
        Column("op_digest", String(32)),
        Column("committed_at", UTCDateTime(), nullable=False),
        UniqueConstraint("node_id", "node_seq"),
        # The removal notices of moved rows (sync/capture/moves.py), few: each pull page reads those
        # after its start in the node's scope from this index alone, without reading the log
        # (migration 0013). Other entries are not in it and cost nothing more.
        Index("ix_sync_changes_removals", "server_seq", "community_id", "community_id2",
              "table_name", "row_id", "op", sqlite_where=text("op = 'r'"),
              postgresql_where=text("op = 'r'")),
    )
    node_state = Table(
        "sync_node_state", metadata,
        Column("node_id", Uuid(), primary_key=True),
        Column("last_applied_seq", BigInteger, nullable=False, default=0),
        Column("updated_at", UTCDateTime()),
    )
    quarantine = Table(
        "sync_quarantine", metadata,
        Column("id", Integer, primary_key=True),
        # push: an operation central refused (on central); pull: a row a node could not apply.
        Column("direction", String(4), nullable=False),
        Column("node_id", Uuid()),
        Column("node_seq", BigInteger),
        Column("op_digest", String(32)),
        Column("table_name", String(64)),
        Column("row_id", Uuid()),
        Column("code", String(40), nullable=False),
        Column("message", Text),
        Column("payload", Text),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("resolved_at", UTCDateTime()),
        Column("resolution", String(40)),
        Index("ix_sync_quarantine_node", "node_id", "node_seq"),
    )
    conflicts = Table(
        "sync_conflicts", metadata,
        Column("id", Integer, primary_key=True),
        # field: the same field changed on two sides; amendment: two amendments or renewals of
        # one base; double_delivery: a delivery that looks like one already recorded.
        Column("kind", String(20), nullable=False),
        Column("table_name", String(64), nullable=False),
        Column("row_id", Uuid(), nullable=False),
        Column("field", String(64)),
        Column("other_row_id", Uuid()),
        Column("central_value", JSON),
        Column("node_value", JSON),
        Column("base_value", JSON),
        Column("node_id", Uuid()),
        Column("node_seq", BigInteger),
        Column("community_id", Uuid()),
        Column("status", String(10), nullable=False, default="open"),
        Column("resolution", Text),
        Column("resolved_by", String(64)),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("resolved_at", UTCDateTime()),
        Index("ix_sync_conflicts_status", "status", "table_name", "row_id"),
    )
    aliases = Table(
        "sync_aliases", metadata,
        # A record a node created again under another id (an attendance already on central).
        Column("table_name", String(64), primary_key=True),
        Column("alias_id", Uuid(), primary_key=True),
        Column("canonical_id", Uuid(), nullable=False),
    )
    log = Table(
        "sync_log", metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime(), nullable=False),
        Column("node_id", Uuid()),
        Column("action", String(20), nullable=False),
        Column("ok", Boolean, nullable=False),
        Column("code", String(40)),
        Column("message", Text),
        Column("detail", JSON),
        Column("duration_ms", Integer),
        Index("ix_sync_log_node", "node_id", "id"),
    )
    return SyncTables(state, outbox, changes, node_state, quarantine, conflicts, aliases, log,
                      outbox_payloads)
