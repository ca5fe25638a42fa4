"""What the app tells the engine about its tables: which sync, how they merge, whose they are.

The engine knows tables only through these specs (it never imports the app). A spec names a
SQLAlchemy table, its *kind* of data, and its *scope path*: how to find the community a row
belongs to (its own id, a column, or through a parent table), which decides which nodes may
write it and which nodes receive it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from sync.storage.codec import TableCodec
from sync.storage.fastpg import is_postgres
from sync.storage.fastpg import rows_by_id as pg_rows_by_id
from sync.storage.fastsql import is_sqlite, row_dicts, sqlite_table

#: merge: fields merge one by one (same field changed on two sides = a conflict record);
#: agreement: merge, but a signed version is frozen and competing amendments are flagged;
#: set: one row per natural key, a second insert of the same key joins the first;
#: append: events, inserted once; only the listed ``mutable`` fields may change later.
KINDS = ("merge", "agreement", "set", "append")

#: Columns the engine manages itself (never merged field by field).
SYSTEM_COLUMNS = frozenset({"id", "version", "created_at", "origin_node"})


class TableRules:
    """The app's domain rules for one table, which central checks for every operation a node
    pushes before applying it (the engine never imports the app: the app supplies a subclass
    in its :class:`TableSpec`, like ``find_doubles``). A refusal is a
    :class:`sync.central.page.Rejected` (a stable code and a message): the operation is quarantined
    and never acknowledged as synced. The default allows everything.
    """

    #: The columns :meth:`check_inserts` reads (central decodes them for runs of inserts).
    columns: tuple[str, ...] = ()

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        """Refusals of new records, by position in ``rows`` (a run of inserts: one pass, not
        one query per row). ``rows`` hold at least :attr:`columns` as Python values."""
        return {}

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        """Raise ``Rejected`` if ``changes`` (what the node asks to change, merged or in
        conflict) may not be made to central's ``current`` row."""

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        """Raise ``Rejected`` if central's ``current`` row may not be deleted by a node."""

    def after_inserts(self, session: Session, node: Any, rows: list[dict[str, Any]]) -> list[Any]:
        """Central's own changes to rows a push just inserted (``rows`` as for
        :meth:`check_inserts`), e.g. a record made offline for a family since merged, moved to
        the family it was merged into. Returns the ids of the rows changed: central logs each
        as its own change, so every node in scope (the pushing one too) receives it."""
        return []

    def after_update(self, session: Session, node: Any, row: dict[str, Any],
                     changes: dict[str, Any]) -> bool:
        """Central's own change to a row a pushed update just changed (``row`` as it is now,
        ``changes`` what the update wrote), e.g. a record re-pointed at a family since merged,
        moved to the family it was merged into. Returns whether it changed the row: central
        then logs it as its own change, so every node in scope receives it."""
        return False

    def redirect(self, session: Session, current: dict[str, Any]) -> Any:
        """The id of the row a pushed update of ``current`` applies to instead, when central
        replaced this record by another (a merged family: the family it was merged into);
        ``None``: this row. The update then merges field by field into that row, against the
        node's base values (a field the other row holds otherwise opens a conflict)."""
        return None


@dataclass
class TableSpec:
    """How one table syncs.

    :param table: the SQLAlchemy table (or a mapped class; its table is used).
    :param kind: one of :data:`KINDS`.
    :param scope: the scope path: ``"id"`` (the row is a community), ``"<column>"`` (a column
        holding the community id), ``"<fk>-><parent table>"`` (the parent's community), or
        alternatives separated by ``|`` (the first non-null wins). ``None``: global (every node
        receives it, any node may write it).
    :param scope2: a second path for rows that belong to two communities (both must be in a
        node's scope), e.g. attendance: the session's and the family's.
    :param natural_key: for ``set`` tables, the columns that identify an element.
    :param mutable: for ``append`` tables, the columns a node may still change.
    :param distribute: whether central sends the table's changes to nodes (``False`` for the
        audit log, which only travels up).
    :param withhold: a boolean column: central never sends a row where it is true to any node
        (its pull pages leave the row out; the row still travels up from the node that made
        it). The app must keep the column unchanged once the row exists (its ``rules``), or a
        node would keep the copy it had before.
    :param supersedes: for ``agreement`` tables, the column linking a version to the one it
        replaces; two live versions replacing the same one are both kept and flagged.
    :param flag_column: the column central writes its flag into (``agreement``: the kind of
        conflict; ``append`` with ``find_doubles``: the id of the record it may double).
    :param find_doubles: for ``append`` tables, ``f(session, rows) -> [(row id, other id)]``
        naming inserted rows that look like a record already there (flagged, never dropped).
    :param doubles_columns: the columns ``find_doubles`` reads from the new rows.
    :param doubles_kind: the kind of conflict a double found by ``find_doubles`` opens.
    :param rules: the app's domain rules, checked for every operation a node pushes.
    :param origin_column: the column naming the node that made a record (``None``: the table
        has none); a new record pushed by a node must name that node.
    """

    table: Any
    kind: str = "merge"
    scope: str | None = None
    scope2: str | None = None
    natural_key: tuple[str, ...] = ()
    mutable: frozenset[str] = frozenset()
    distribute: bool = True
    withhold: str | None = None
    supersedes: str | None = None
    flag_column: str | None = None
    find_doubles: Callable[[Session, list[dict[str, Any]]], list[tuple[Any, Any]]] | None = None
    doubles_columns: tuple[str, ...] = ()
    doubles_kind: str = "double_delivery"
    rules: TableRules | None = None
    origin_column: str | None = "origin_node"
    codec: TableCodec = field(init=False)
    model: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.table, Table):
            self.model = self.table
            self.table = self.table.__table__
        if self.kind not in KINDS:
            raise ValueError(f"unknown sync kind {self.kind!r}")
        if self.withhold is not None and self.withhold not in self.table.c:
            raise ValueError(f"{self.table.name} has no column {self.withhold!r} to withhold by")
        self.codec = TableCodec(self.table)
        self.versioned = "version" in self.table.c
        paths = _parse_path(self.scope) + _parse_path(self.scope2)
        if self.origin_column is not None and self.origin_column not in self.table.c:
            self.origin_column = None
        wanted = {"id", "voided", "version", *self.natural_key, *self.doubles_columns}
        if self.origin_column:
            wanted.add(self.origin_column)
        if self.rules is not None:
            wanted.update(self.rules.columns)
        wanted.update(col for col, _parent in paths)
        #: Columns that decide where a row belongs.
        self.path_columns = frozenset(col for col, _parent in paths if col != "id")
        if self.supersedes:
            wanted.add(self.supersedes)
        #: The columns central reads as Python values when inserting in bulk (the rest goes
        #: to the database as it came).
        self.key_columns = tuple(c for c in self.codec.columns if c in wanted)

    @property
    def name(self) -> str:
        return self.table.name


def _parse_path(path: str | None) -> list[tuple[str, str | None]]:
    """``"a->t|b->u"`` as ``[("a", "t"), ("b", "u")]``; ``"col"`` as ``[("col", None)]``."""
    if not path:
        return []
    out: list[tuple[str, str | None]] = []
    for part in path.split("|"):
        if "->" in part:
            col, parent = part.split("->", 1)
            out.append((col.strip(), parent.strip()))
        else:
            out.append((part.strip(), None))
    return out


class Registry:
    """The synced tables of one app, in dependency order (parents before children)."""

    def __init__(self, specs: Iterable[TableSpec]) -> None:
        self.specs: dict[str, TableSpec] = {}
        for spec in specs:
            self.specs[spec.name] = spec
        self.by_model = {s.model: s for s in self.specs.values() if s.model is not None}
        self.order = {name: i for i, name in enumerate(self._topological())}
        self.paths = {n: (_parse_path(s.scope), _parse_path(s.scope2))
                      for n, s in self.specs.items()}
        #: parent table -> [(child table, the child's column naming the parent)]: the
        #: distributed tables whose scope path runs through the parent (a child moves when its
        #: parent moves; the audit log, which only travels up, stays where it was written).
        self.children: dict[str, list[tuple[str, str]]] = {}
        for n in sorted(self.specs, key=self.order.__getitem__):
            first, second = self.paths[n]
            for col, parent in (*first, *second):
                if (parent is not None and parent != n and parent in self.specs
                        and self.specs[n].distribute):
                    self.children.setdefault(parent, []).append((n, col))

    def _topological(self) -> list[str]:
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for fk in self.specs[name].table.foreign_keys:
                parent = fk.column.table.name
                if parent in self.specs and parent != name:
                    visit(parent)
            done.append(name)

        for name in self.specs:
            visit(name)
        return done

    def get(self, name: str) -> TableSpec | None:
        return self.specs.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.specs

    # -- scope ---------------------------------------------------------------------------
    def communities_of_rows(self, session: Session, name: str, rows: list[dict[str, Any]],
                            cache: dict | None = None) -> list[tuple[Any, Any]]:
        """The (community, second community) of each row (Python values), ``None`` if global.

        Parents are looked up in the database (one query per table and level, cached in
        ``cache``; a row not found is never cached, it may be inserted later in the page).
        A row whose parent cannot be found gets the marker :data:`MISSING`.
        """
        cache = {} if cache is None else cache
        first, second = self.paths[name]
        a = self._resolve(session, name, rows, first, cache)
        b = self._resolve(session, name, rows, second, cache) if second else [None] * len(rows)
        return list(zip(a, b, strict=True))

    def _resolve(self, session: Session, name: str, rows: list[dict[str, Any]],
                 path: list[tuple[str, str | None]], cache: dict) -> list[Any]:
        if not path:
            return [None] * len(rows)
        wanted: dict[str, set] = {}
        picks: list[tuple[str | None, Any]] = []
        for row in rows:
            pick: tuple[str | None, Any] = (None, None)
            for col, parent in path:
                value = row.get(col)
                if value is not None:
                    pick = (parent, value)
                    break
                if parent is None and col == "id":
                    pick = (None, row.get("id"))
            picks.append(pick)
            if pick[0] is not None and (pick[0], pick[1]) not in cache:
                wanted.setdefault(pick[0], set()).add(pick[1])
        for parent, ids in wanted.items():
            self._load_communities(session, parent, ids, cache)
        out = []
        for parent, value in picks:
            if parent is None:
                out.append(value)
            else:
                out.append(cache.get((parent, value), MISSING))
        return out

    def _load_communities(self, session: Session, name: str, ids: set, cache: dict) -> None:
        """Fill ``cache[(name, id)]`` with the community of each row of ``name``."""
        path, _second = self.paths[name]
        cols = {col for col, _p in path if col != "id"}
        found = _rows_by_id(session, self.specs[name].table, ("id", *sorted(cols)), list(ids))
        values = self._resolve(session, name, found, path, cache) if path else [None] * len(found)
        for row, value in zip(found, values, strict=True):
            cache[(name, row["id"])] = value

    def places_of_ids(self, session: Session, name: str, ids: list[Any]
                      ) -> dict[Any, tuple[Any, Any]]:
        """The current (community, second community) of the rows of ``name`` with these ids
        (UUIDs; rows that do not exist are left out)."""
        first, second = self.paths[name]
        cols = sorted({col for col, _p in (*first, *second) if col != "id"})
        rows = _rows_by_id(session, self.specs[name].table, ("id", *cols), ids)
        places = self.communities_of_rows(session, name, rows, {})
        return {row["id"]: place for row, place in zip(rows, places, strict=True)}

    def descendants(self, session: Session, name: str, ids: list[Any]
                    ) -> dict[str, list[dict[str, Any]]]:
        """Every row whose scope path runs through one of these rows of ``name``, table by
        table (parents before children): ``{table: [{"id", <path columns>...}]}``.

        Found level by level through :attr:`children` (moves and removals are rare: plain
        statements, a few a level).
        """
        found: dict[str, dict[Any, dict[str, Any]]] = {}
        level: dict[str, set] = {name: set(ids)}
        while level:
            below: dict[str, set] = {}
            for parent, parent_ids in level.items():
                for child, col in self.children.get(parent, ()):
                    table = self.specs[child].table
                    first, second = self.paths[child]
                    cols = sorted({c for c, _p in (*first, *second) if c != "id"})
                    wanted = list(parent_ids)
                    for start in range(0, len(wanted), 500):
                        stmt = select(table.c.id, *[table.c[c] for c in cols]).where(
                            table.c[col].in_(wanted[start : start + 500]))
                        for row in row_dicts(session.execute(stmt)):
                            rows = found.setdefault(child, {})
                            if row["id"] not in rows:
                                rows[row["id"]] = row
                                below.setdefault(child, set()).add(row["id"])
            level = below
        return {n: list(found[n].values()) for n in sorted(found, key=self.order.__getitem__)}


def _rows_by_id(session: Session, table: Table, keys: tuple[str, ...], ids: list[Any]
                ) -> list[dict[str, Any]]:
    """The ``keys`` columns of the rows of ``table`` with these ids (UUIDs), as Python values."""
    if is_sqlite(session):  # ids as stored, without SQLAlchemy's per-value processing
        return sqlite_table(table).rows_by_id(session.connection(), keys, ids)
    if is_postgres(session):  # one array of ids a statement, through the driver
        return [dict(zip(keys, row, strict=True))
                for row in pg_rows_by_id(session, table, keys, ids)]
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        stmt = select(*[table.c[c] for c in keys]).where(
            table.c.id.in_(ids[start : start + 500]))
        found.extend(row_dicts(session.execute(stmt)))
    return found


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: The community of a row whose parent does not exist (the row cannot be placed).
MISSING: Any = _Missing()
