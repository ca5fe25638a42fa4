"""Records that change place: the change-log entries a move adds on central.

A row *moves* when a column of its scope path changes to a value that places it in other
communities (a family's ``community_id``; an agreement's ``family_id``), and with it every row
whose scope path runs through it (a family's agreements and their commitments, benefits and
signatures, deliveries, visits and findings, sanctions, attendance). The ordinary entry of the
change is written at the new place. A move adds, for the row and each row that moved with it:

- a **removal notice** (``op`` ``r``) at its *old* place. Nodes serving the old place see it;
  the feed sends them the row again only if its current place is in their scope, as a removal
  (``x``) otherwise (:func:`sync.central.feed.pull_page`). The feed also looks for these notices to
  know which rows of a page may no longer be where their older entries put them: a node never
  receives a row's current values from an entry written while it was still in its scope;
- for the rows that moved with it (``u``) an entry at their *new* place, so that nodes that
  serve the new place but not the old one receive the whole history, not only the moved row.

Moves are rare (a coordinator's correction): this costs a few statements per moved row, and
nothing at all when nothing moves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from sync.capture.changelog import Change, log_place
from sync.state import AppState


@dataclass(slots=True)
class Move:
    """A row whose scope path changed: its table, id and its scope values before."""

    table_name: str
    row_id: uuid.UUID
    before: dict[str, Any]


def is_move(spec: Any, changed: Any) -> bool:
    """Whether a change of these columns may move a row (a column of its scope path)."""
    return bool(spec.path_columns) and not spec.path_columns.isdisjoint(changed)


def move_entries(state: AppState, session: Session, moves: list[Move],
                 node_id: uuid.UUID | None = None) -> list[Change]:
    """The entries the moves of these rows add (after the rows' own entries).

    :param moves: rows as they are now in ``session`` (after the change), with their values
        before it.
    :param node_id: the node whose pushed operation moved them (it serves both places: it is
        not sent these entries back), ``None`` for a change made on central.
    """
    registry = state.registry
    removals: list[Change] = []
    arrivals: list[Change] = []
    for move in moves:
        spec = registry.specs[move.table_name]
        if not spec.distribute:
            continue
        [old] = registry.communities_of_rows(session, move.table_name, [move.before], {})
        now = registry.places_of_ids(session, move.table_name, [move.row_id])
        new = now.get(move.row_id)
        if new is None or new == old:
            continue  # deleted since, or still in the same communities
        removals.append(Change(move.table_name, move.row_id, "r", log_place(old[0]),
                               log_place(old[1]), node_id))
        # The rows below, placed once through the row as it was and once as it is.
        seeded = {(move.table_name, move.row_id): old[0]}
        for name, rows in registry.descendants(session, move.table_name, [move.row_id]).items():
            before = registry.communities_of_rows(session, name, rows, seeded)
            after = registry.communities_of_rows(session, name, rows, {})
            for row, was, place in zip(rows, before, after, strict=True):
                if was == place:
                    continue
                removals.append(Change(name, row["id"], "r", log_place(was[0]),
                                       log_place(was[1]), node_id))
                arrivals.append(Change(name, row["id"], "u", log_place(place[0]),
                                       log_place(place[1]), node_id))
    # Arrivals parents first (a page that ends among them brings parents before children).
    arrivals.sort(key=lambda c: registry.order[c.table_name])
    return removals + arrivals
