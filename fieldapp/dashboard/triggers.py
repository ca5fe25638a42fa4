"""Database triggers that mark, in ``dash_dirty``, the community of every changed record.

Whatever writes (a form, the demo's bulk inserts, sync applying a page from a field node), the
database itself records which communities' summaries are out of date, in the writer's own
transaction. SQLite gets row triggers; PostgreSQL statement triggers with transition tables
(one insert per statement, however many rows).

The app installs them (:func:`ensure_triggers`) rather than a migration, because a SQLite batch
migration that rebuilds a source table silently drops its triggers; when any is missing they are
created again and everything is marked dirty.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

PREFIX = "dash_mark_"

#: For each source table: how a changed row leads to its communities, as
#: (SQLite, given ``{r}`` = NEW or OLD; PostgreSQL, given ``{t}`` = a transition table).
SOURCES: dict[str, list[tuple[str, str]]] = {
    "families": [
        ("SELECT {r}.community_id", "SELECT r.community_id FROM {t} r"),
    ],
    "benefit_deliveries": [
        (
            "SELECT community_id FROM families WHERE id = {r}.family_id",
            "SELECT f.community_id FROM {t} r JOIN families f ON f.id = r.family_id",
        ),
    ],
    "compliance_visits": [
        (
            "SELECT community_id FROM families WHERE id = {r}.family_id",
            "SELECT f.community_id FROM {t} r JOIN families f ON f.id = r.family_id",
        ),
    ],
    "sanctions": [
        (
            "SELECT community_id FROM families WHERE id = {r}.family_id",
            "SELECT f.community_id FROM {t} r JOIN families f ON f.id = r.family_id",
        ),
    ],
    "agreements": [
        (
            "SELECT community_id FROM families WHERE id = {r}.family_id",
            "SELECT f.community_id FROM {t} r JOIN families f ON f.id = r.family_id",
        ),
    ],
    "agreement_benefits": [
        (
            "SELECT f.community_id FROM agreements a JOIN families f ON f.id = a.family_id"
            " WHERE a.id = {r}.agreement_id",
            "SELECT f.community_id FROM {t} r JOIN agreements a ON a.id = r.agreement_id"
            " JOIN families f ON f.id = a.family_id",
        ),
    ],
    "agreement_commitments": [
        (
            "SELECT f.community_id FROM agreements a JOIN families f ON f.id = a.family_id"
            " WHERE a.id = {r}.agreement_id",
            "SELECT f.community_id FROM {t} r JOIN agreements a ON a.id = r.agreement_id"
            " JOIN families f ON f.id = a.family_id",
        ),
    ],
    "visit_findings": [
        (
            "SELECT f.community_id FROM compliance_visits v JOIN families f ON f.id = v.family_id"
            " WHERE v.id = {r}.visit_id",
            "SELECT f.community_id FROM {t} r JOIN compliance_visits v ON v.id = r.visit_id"
            " JOIN families f ON f.id = v.family_id",
        ),
    ],
    "training_sessions": [
        ("SELECT {r}.community_id", "SELECT r.community_id FROM {t} r"),
    ],
    "attendance": [
        (
            "SELECT community_id FROM training_sessions WHERE id = {r}.session_id",
            "SELECT s.community_id FROM {t} r JOIN training_sessions s ON s.id = r.session_id",
        ),
        (
            "SELECT community_id FROM families WHERE id = {r}.family_id",
            "SELECT f.community_id FROM {t} r JOIN families f ON f.id = r.family_id",
        ),
    ],
}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _sqlite_statements() -> dict[str, str]:
    """Each marking trigger's name and its ``CREATE TRIGGER`` statement, as SQLite keeps it."""
    out = {}
    for table, ways in SOURCES.items():
        for event in EVENTS:
            refs = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[event]
            selects = [sqlite_sql.format(r=ref) for ref in refs for sqlite_sql, _pg in ways]
            # A mark already waiting for that community is enough (the table stays tiny). The
            # WHEN clause looks first, so that a row of a community already marked (nearly every
            # row of a bulk write: a pushed or pulled page, the demo's load) runs no INSERT.
            # Table and column names come from SOURCES above, never from input.
            unmarked = " OR ".join(
                f"NOT EXISTS (SELECT 1 FROM dash_dirty d WHERE d.community_id = ({select}))"  # noqa: S608
                for select in selects
            )
            body = " ".join(
                f"INSERT INTO dash_dirty (community_id) SELECT m.c FROM (SELECT ({select})"  # noqa: S608
                " AS c) m WHERE m.c IS NOT NULL AND NOT EXISTS"
                " (SELECT 1 FROM dash_dirty d WHERE d.community_id = m.c);"
                for select in selects
            )
            name = f"{PREFIX}{table}_{event.lower()}"
            out[name] = (f'CREATE TRIGGER "{name}" AFTER {event} ON {table} FOR EACH ROW '
                         f"WHEN {unmarked} BEGIN {body} END")
    return out


def _postgres_statements() -> list[str]:
    out = []
    for table, ways in SOURCES.items():
        function = f"{PREFIX}{table}"
        new_rows = " UNION ".join(pg.format(t="new_rows") for _s, pg in ways)
        old_rows = " UNION ".join(pg.format(t="old_rows") for _s, pg in ways)
        out.append(f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO dash_dirty (community_id)
      SELECT DISTINCT c.community_id FROM ({new_rows}) c WHERE c.community_id IS NOT NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO dash_dirty (community_id)
      SELECT DISTINCT c.community_id FROM ({old_rows}) c WHERE c.community_id IS NOT NULL;
  END IF;
  RETURN NULL;
END $$""")  # noqa: S608 - table and column names from SOURCES above, never from input
        referencing = {
            "INSERT": "REFERENCING NEW TABLE AS new_rows",
            "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "REFERENCING OLD TABLE AS old_rows",
        }
        for event in EVENTS:
            out.append(
                f"CREATE OR REPLACE TRIGGER {function}_{event.lower()} AFTER {event} ON {table} "
                f"{referencing[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    return out


def expected_count() -> int:
    """How many triggers a complete installation has."""
    return len(SOURCES) * len(EVENTS)


def installed_count(conn: Connection) -> int:
    """How many of the marking triggers exist in a PostgreSQL database (SQLite's are compared
    one by one with their text: :func:`ensure_triggers`)."""
    sql = "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE :pattern"
    return int(conn.execute(text(sql), {"pattern": PREFIX + "%"}).scalar() or 0)


def ensure_triggers(conn: Connection) -> bool:
    """Install the marking triggers when any is missing, and on SQLite replace those that are
    not as this version writes them (an installation made before a change to them); then
    everything is marked dirty.

    Runs inside the caller's transaction. Returns whether anything had to be installed.
    """
    if conn.dialect.name != "sqlite":
        if installed_count(conn) == expected_count():
            return False
        for statement in _postgres_statements():
            conn.exec_driver_sql(statement)
    else:
        wanted = _sqlite_statements()
        installed = dict(conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE :pattern"
        ), {"pattern": PREFIX + "%"}).all())
        if installed == wanted:
            return False
        for name, sql in installed.items():
            if wanted.get(name) != sql:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        for name, sql in wanted.items():
            if installed.get(name) != sql:
                conn.exec_driver_sql(sql)
    conn.exec_driver_sql("INSERT INTO dash_dirty (community_id) VALUES (NULL)")
    return True
