"""Compaction of central's change log: entries a later entry of the same row made useless.

A pull page carries each row as it is *now*, found through the log's entries after the node's
cursor (:mod:`sync.central.feed`). An older upsert (``u``) of a row is not needed when a newer
entry of the row reaches every node the older one reaches: a node whose cursor is before both
receives the same current row from the newer one. Entries made on central and those sent back
to their node (``echo``) reach every node; a node's own change reaches every node but itself.
So the log keeps about one entry per row (two where a node's own change follows another's) plus
what changed recently, instead of every change since the program began.

What stays:

- every entry newer than ``keep_days`` (default ``SYNC_CHANGES_KEEP_DAYS``): a replayed push
  page is recognised by its entries (:func:`sync.central.page.earlier_outcomes` compares the
  bytes of an operation sent again with those first applied); a replay older than that is
  acknowledged without the comparison;
- the newest upsert of each row still there, deletions (``d``; a deleted row's upserts go),
  removal notices of moved rows (``r``) and entries of tables that are not distributed (``n``):
  each says something no later entry says.

Numbers are never reused or shifted: nodes' cursors stay valid, and the entries after any
cursor still name every row changed after it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from sync.state import AppState


def compact_changes(state: AppState, session: Session, keep_days: float | None = None) -> int:
    """Delete the upserts older than ``keep_days`` that a later upsert or deletion of the same
    row supersedes, in the caller's transaction. Returns how many were deleted."""
    days = float(state.config("SYNC_CHANGES_KEEP_DAYS") if keep_days is None else keep_days)
    if days < 0:
        raise ValueError("keep_days must be 0 or more")
    cutoff = state.now() - timedelta(days=days)
    table = state.tables.changes
    name = table.name
    # An upsert can go when a newer entry of its row reaches every node it reaches: one made on
    # central or sent back to its node (echo), or a newer one by the same node when it is that
    # node's own (its node receives neither). A node never receives its own change back: an
    # upsert by central followed by a node's own change of another field must stay for that
    # node, which would otherwise miss central's change. One pass (windows, on SQLite and
    # PostgreSQL) over the upserts and deletions, newest first.
    statement = text(
        f"DELETE FROM {name} WHERE server_seq IN ("  # noqa: S608 - our own table's name
        "  SELECT server_seq FROM ("
        "    SELECT server_seq, op, committed_at, node_id, echo,"
        "      max(CASE WHEN node_id IS NULL OR echo THEN 1 ELSE 0 END) OVER ("
        "        PARTITION BY table_name, row_id ORDER BY server_seq DESC"
        "        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newer_for_all,"
        "      row_number() OVER ("
        "        PARTITION BY table_name, row_id, node_id ORDER BY server_seq DESC) AS by_node"
        f"    FROM {name} WHERE op IN ('u', 'd')) AS ranked"
        "  WHERE op = 'u' AND committed_at < :cutoff AND (newer_for_all = 1"
        "    OR (node_id IS NOT NULL AND NOT echo AND by_node > 1)))"
    ).bindparams(bindparam("cutoff", cutoff, type_=table.c.committed_at.type))
    return int(session.execute(statement).rowcount or 0)
