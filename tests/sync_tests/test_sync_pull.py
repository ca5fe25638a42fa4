"""The pull: rows a node cannot apply are quarantined there without holding back the rest, the
next page is asked for while one is applied, and what central serves is what its rows hold."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from synckit import assert_converged, assert_cursor_not_ahead

from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.nodes.models import Node as NodeRow
from sync import errors
from sync.errors import SimulatedCrash

_dni = iter(range(42000000, 42999999))


def _families(app, community, names):
    return app.add_families(community, [
        {"head_given_names": name, "dni": str(next(_dni))} for name in names])


def _pull_quarantine(node):
    q = node.state.tables.quarantine
    with node.app.app_context():
        rows = db.session.execute(
            select(q.c.table_name, q.c.row_id, q.c.code).where(q.c.direction == "pull")).all()
        db.session.rollback()
    return rows


def _raw(node, sql, **params):
    """Write to the node's database behind the session (nothing captured)."""
    with node.app.app_context(), db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_rows_the_node_cannot_apply_are_quarantined_and_the_rest_goes_in(central, make_node):
    c1 = central.add_community("C1")
    c2 = central.add_community("C2")
    lost = _families(central, c1, ["Ana", "Berta", "Carla"])
    kept = _families(central, c2, ["Dora", "Elsa", "Fina"])
    b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)
    b.enrol(central, communities=("C1", "C2"))
    # The node already holds another community under code C1 (an old setup): central's C1
    # cannot go in (duplicate code), and so neither can its families (missing parent).
    _raw(b, "INSERT INTO communities (id, code, name, created_at, updated_at, origin_node, "
         "version) VALUES (:id, 'C1', 'Vieja', '2026-01-01 00:00:00.000000', "
         "'2026-01-01 00:00:00.000000', 'OLD', 1)", id=uuid.uuid4().hex)
    report = b.sync()
    assert report.ok
    assert report.failed == 4
    held = _pull_quarantine(b)
    assert sorted(code for _t, _i, code in held) == [
        "duplicate_key", "missing_parent", "missing_parent", "missing_parent"]
    assert {row_id for _t, row_id, _c in held} == {c1, *lost}
    assert all(b.get(Family, f) is not None for f in kept)
    assert all(b.get(Family, f) is None for f in lost)
    assert b.get(Community, c2) is not None
    with central.app.app_context():
        top = central.state.session.execute(text(
            "SELECT value FROM sync_state WHERE key = 'server_seq'")).scalar_one()
        db.session.rollback()
    assert b.cursor() == top  # the queue went on past them
    # Central heard the count as the node holds it (the page asked ahead before the rows were
    # quarantined was asked again).
    reported = {n["code"]: n["quarantined_reported"] for n in central.rows(NodeRow).values()}
    assert reported["BBB"] == b.status()["quarantined"] == 4


def test_a_value_that_does_not_fit_is_quarantined_on_the_node(central, make_node):
    if central.backend == "postgres":
        pytest.skip("PostgreSQL does not store text in an integer column")
    c1 = central.add_community("C1")
    good, bad = _families(central, c1, ["Buena", "Mala"])
    # A captured edit puts the row in the change log, then central's SQLite is made to hold
    # what the column's type does not allow (written behind its back).
    central.edit(Family, bad, notes="tocada")
    with central.app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE families SET version = 'muchas' WHERE id = :id"),
                     {"id": bad.hex})
    b = make_node("BBB")
    b.enrol(central, communities=("C1",))
    report = b.sync()
    assert report.ok
    assert report.failed == 1
    assert [(row_id, code) for _t, row_id, code in _pull_quarantine(b)] == [(bad, "invalid")]
    assert b.get(Family, good) is not None
    assert b.get(Family, bad) is None


def test_a_row_whose_id_is_not_a_uuid_is_quarantined_on_the_node(central, make_node):
    if central.backend == "postgres":
        pytest.skip("PostgreSQL does not store other text in a UUID column")
    c1 = central.add_community("C1")
    good, bad = _families(central, c1, ["Buena", "Mala"])
    # Central's SQLite made to hold a row (and its change-log entry) under an id that is not
    # a UUID, written behind its back.
    with central.app.app_context(), db.engine.begin() as conn:
        for table in ("families", "sync_changes"):
            column = "id" if table == "families" else "row_id"
            conn.execute(text(f"UPDATE {table} SET {column} = :z WHERE {column} = :id"),  # noqa: S608
                         {"z": "z" * 32, "id": bad.hex})
    b = make_node("BBB")
    b.enrol(central, communities=("C1",))
    report = b.sync()  # before: the whole sync failed, and every later one
    assert report.ok
    assert report.failed == 1
    assert [(row_id, code) for _t, row_id, code in _pull_quarantine(b)] == [(None, "invalid")]
    assert b.get(Family, good) is not None
    assert b.count(Family) == 1
    assert b.sync().ok


def test_a_crash_while_the_next_page_is_on_its_way_applies_nothing_twice(central, make_node):
    c1 = central.add_community("C1")
    _families(central, c1, [f"Persona {n}" for n in range(9)])
    b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)
    b.enrol(central, communities=("C1",))
    # The second page fails to commit while the third is already asked for.
    b.app.config["SYNC_FAULTS"] = {"pull.before_commit": 2}
    with pytest.raises(SimulatedCrash):
        b.sync()
    assert_cursor_not_ahead(central, b)
    first = b.cursor()
    assert first > 0
    b.app.config["SYNC_FAULTS"] = None
    assert b.sync().ok
    assert_converged(central, b)
    assert b.count(Family) == 9


def test_a_failing_page_does_not_wait_for_the_page_asked_ahead(central, make_node,
                                                                 monkeypatch):
    import threading
    import time

    import sync.central.server

    c1 = central.add_community("C1")
    _families(central, c1, [f"Persona {n}" for n in range(9)])
    b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)
    b.enrol(central, communities=("C1",))
    served = sync.central.server.pull_page
    release = threading.Event()

    def slow_ahead(*args, **kwargs):  # central, slow to answer the pages asked furthest ahead
        if kwargs.get("skip"):
            release.wait(10)
        return served(*args, **kwargs)

    monkeypatch.setattr(sync.central.server, "pull_page", slow_ahead)
    # The second page fails while the third (asked with the second) is still being prepared.
    b.app.config["SYNC_FAULTS"] = {"pull.before_commit": 2}
    started = time.monotonic()
    try:
        with pytest.raises(SimulatedCrash):
            b.sync()
        assert time.monotonic() - started < 5  # before: 10 s (the link's timeout in general)
    finally:
        release.set()
    b.app.config["SYNC_FAULTS"] = None
    assert b.sync().ok
    assert_converged(central, b)


def test_the_page_after_the_next_starts_where_the_next_one_ends(central, make_node):
    """``skip``: central passes over the page after the cursor and serves the one after it,
    naming where it starts; after the last page, an empty page at the horizon."""
    c1 = central.add_community("C1")
    _families(central, c1, [f"Persona {n}" for n in range(9)])
    b = make_node("BBB")
    b.enrol(central, communities=("C1",))
    link = b.transport()
    try:
        first = link.post("/pull", {"cursor": 0, "limit": 4})
        second = link.post("/pull", {"cursor": first["c"], "limit": 4})
        ahead = link.post("/pull", {"cursor": 0, "limit": 4, "skip": 1})
        assert first["m"]
        assert second["m"]
        assert ahead["s"] == first["c"]
        assert {k: v for k, v in ahead.items() if k != "s"} == second  # the same page
        end = link.post("/pull", {"cursor": second["h"] - 1, "limit": 4, "skip": 1})
        # Its cursor (the horizon) comes with the mark of the change it stands on.
        assert len(end.pop("f")) == 16
        assert end == {"c": second["h"], "s": second["h"], "m": False, "h": second["h"], "t": []}
        for odd in (2, -1, "1", True, None):
            with pytest.raises(errors.BadBody):
                link.post("/pull", {"cursor": 0, "limit": 4, "skip": odd})
    finally:
        link.close()


def test_a_page_asked_ahead_that_does_not_start_at_the_cursor_is_asked_again(central, make_node,
                                                                              monkeypatch):
    """Should a page asked ahead start elsewhere than where the page before it ended (the
    changes after the cursor grew between the two requests), the node drops it and asks again
    from its cursor: no row is skipped."""
    import sync.central.server

    c1 = central.add_community("C1")
    _families(central, c1, [f"Persona {n}" for n in range(9)])
    b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)
    b.enrol(central, communities=("C1",))
    served = sync.central.server.pull_page
    raced: list[int] = []

    def too_far(state, session, node, cursor, limit, own_gap=None, skip=0):
        page = served(state, session, node, cursor, limit, own_gap=own_gap, skip=skip)
        if skip and page["m"] and not raced:  # one page further than asked, named truthfully
            raced.append(page["s"])
            page = served(state, session, node, page["s"], limit, own_gap=own_gap, skip=1)
        return page

    monkeypatch.setattr(sync.central.server, "pull_page", too_far)
    report = b.sync()
    assert report.ok
    assert raced
    assert report.pulled == 10  # the community and its nine families, each once
    assert_converged(central, b)


def test_a_page_asked_ahead_past_the_last_one_is_not_waited_for(central, make_node,
                                                              monkeypatch):
    """When the last page is in, a page still asked ahead is cut, not waited for (on 2G it
    could be a whole page of changes made meanwhile, which the next sync brings anyway)."""
    import threading
    import time

    import sync.central.server

    c1 = central.add_community("C1")
    _families(central, c1, ["Ana", "Berta", "Carla", "Dora"])  # five rows: pages of 2, 2, 1
    b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)
    b.enrol(central, communities=("C1",))
    served = sync.central.server.pull_page
    release = threading.Event()

    def slow_past_the_end(*args, **kwargs):
        page = served(*args, **kwargs)
        if kwargs.get("skip") and page["s"] == page["h"]:  # the page after the last one
            release.wait(10)
        return page

    monkeypatch.setattr(sync.central.server, "pull_page", slow_past_the_end)
    started = time.monotonic()
    try:
        report = b.sync()
        assert time.monotonic() - started < 5  # not the 10 s central takes to answer
    finally:
        release.set()
    assert report.ok
    assert report.pulled == 5
    assert_converged(central, b)


def test_a_cut_answer_to_the_page_asked_ahead_keeps_the_page_before(central, make_node):
    from testing.servers import LinkProxy

    c1 = central.add_community("C1")
    _families(central, c1, [f"Persona {n}" for n in range(9)])
    proxy = LinkProxy(central.server.port)
    try:
        b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)
        b.enrol(central, communities=("C1",), url=proxy.url)
        asked = []

        def cut_third() -> None:
            asked.append(1)
            if len(asked) == 3:
                proxy.cut_download_after(300)

        b.app.config["SYNC_FAULTS"] = {"pull.before_request": cut_third}
        with pytest.raises(errors.SyncError):
            b.sync()
        b.app.config["SYNC_FAULTS"] = None
        # The two pages before the cut one are in, nothing beyond.
        assert_cursor_not_ahead(central, b)
        assert b.cursor() > 0
        assert b.sync().ok
        assert_converged(central, b)
        assert proxy.cuts == 1
    finally:
        proxy.close()


def test_an_answer_is_the_json_the_standard_library_would_write(central):
    """Answers are written with orjson: the same bytes as ``json.dumps`` for what a page holds
    (UTF-8 text unescaped, floats, nested lists), and numeric keys written as text."""
    import gzip
    import json

    from sync.central.server import respond

    page = {"c": 7, "m": False, "h": 9, "t": [{"n": "families", "k": ["id", "head_surname"],
                                              "r": [["0193", "Pinedo Ríos ñ \u2028 \"q\""],
                                                    [None, 0.1 + 0.2], [True, -5.123456789012345]]
                                              }], "details": {"acked": 4}}
    with central.app.test_request_context(headers={"Accept-Encoding": "gzip"}):
        answer = respond(page)
        small = respond({3: "tres"})
    body = answer.get_data()
    if answer.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert body == json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode()
    assert json.loads(small.get_data()) == {"3": "tres"}


def test_a_node_pulls_its_rows_from_far_down_a_log_of_other_communities(central, make_node):
    """The feed reads the log window by window (PostgreSQL), growing the window while the
    entries are another scope's: a page still holds the next rows in scope, in order."""
    c1 = central.add_community("C1")
    c2 = central.add_community("C2")
    _families(central, c1, [f"Otra {n}" for n in range(40)])  # 40 entries this node skips
    mine = _families(central, c2, ["Ana", "Berta", "Carla"])
    b = make_node("BBB", SYNC_PULL_PAGE_ROWS=2)  # first window: 8 entries of the log
    b.enrol(central, communities=("C2",))
    report = b.sync()
    assert report.ok
    assert {f for f in b.rows(Family)} == set(mine)
    assert_converged(central, b)
    with central.app.app_context():
        top = central.state.session.execute(text(
            "SELECT value FROM sync_state WHERE key = 'server_seq'")).scalar_one()
        db.session.rollback()
    assert b.cursor() == top
