"""Crashes at every step, lost answers, retries, cut links, gaps and replays: nothing lost,
nothing applied twice, the pull cursor never ahead of the data."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from sqlalchemy import func, select
from synckit import assert_converged, assert_cursor_not_ahead

from fieldapp.extensions import db
from fieldapp.families.models import Family
from sync import errors, wire
from sync.errors import SimulatedCrash
from testing.servers import LinkProxy

#: Small pages, the same size all along (push pages do not grow on a fast link here): these
#: tests count the pages and name the operations each holds.
PAGE = {"SYNC_PUSH_PAGE_OPS": 5, "SYNC_PUSH_PAGE_GROWTH": 1, "SYNC_PULL_PAGE_ROWS": 4}


def _families(node, community, n, start=0):
    return node.add_families(community, [
        {"head_given_names": f"Persona {i}", "head_surname": "Fasabi Torres",
         "dni": f"{41000000 + i}"} for i in range(start, start + n)])


def _changes_of(central, node_code):
    """(node_seq, count) of central's change log for a node: each number at most once."""
    ch = central.state.tables.changes
    from fieldapp.nodes.models import Node

    with central.app.app_context():
        node_id = db.session.execute(select(Node.id).where(Node.code == node_code)).scalar_one()
        rows = db.session.execute(
            select(ch.c.node_seq, func.count()).where(ch.c.node_id == node_id)
            .group_by(ch.c.node_seq)).all()
        db.session.rollback()
    return rows


def _pending_lines(node) -> list[bytes]:
    return [f'{{"s":{r["seq"]},{r["payload"][1:]}'.encode() for r in node.outbox()
            if r["status"] == "pending"]


def _post_push(node, lines: list[bytes]) -> dict:
    """Post these lines as one push page on the node's connection; central's answer."""
    transport = node.transport()
    try:
        return transport.post("/push", body=b"\n".join(lines),
                              content_type="application/x-ndjson")
    finally:
        transport.close()


def _family_template(central, make_node, community):
    """Node AAA, enrolled for C1 (``community``) and synced, and the push operation of a family it
    just added (pending), to copy into hand-made pages."""
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, community, 1)
    [template] = [json.loads(line) for line in _pending_lines(a)
                  if json.loads(line)["t"] == "families"]
    return a, template


def _family_op(template, seq, row_id, community, **values):
    """A copy of ``template`` inserting a family of its own (number, id, code, DNI)."""
    op = json.loads(json.dumps(template))
    op["s"], op["i"] = seq, row_id
    op["d"].update({"community_id": str(community), "head_given_names": f"Persona {seq}",
                    "code": f"AM-AAA-9{seq:04d}", "dni": f"{42000000 + seq}", **values})
    return op


PUSH_FAULTS = [
    ("node", "push.before_send"),
    ("central", "central.push.before_changelog"),
    ("central", "central.changelog_numbered"),
    ("central", "central.push.before_commit"),
    ("central", "central.push.after_commit"),
    ("node", "push.after_response"),
    ("node", "push.after_mark"),
]
PULL_FAULTS = ["pull.before_request", "pull.before_apply", "pull.before_commit",
               "pull.after_commit"]


@pytest.mark.parametrize(("side", "point"), PUSH_FAULTS)
def test_crash_during_push_then_restart_loses_nothing_and_applies_nothing_twice(
        central, make_node, side, point):
    c1 = central.add_community("C1")
    a = make_node("AAA", **PAGE)
    a.enrol(central, communities=("C1",))
    a.sync()
    ids = _families(a, c1, 12)
    a.edit(Family, ids[0], phone="987654321")
    target = a if side == "node" else central
    target.app.config["SYNC_FAULTS"] = {point: 2}  # the second page
    with pytest.raises((SimulatedCrash, errors.SyncError)):
        a.sync()
    assert target.state.faults_fired == [point]
    central.app.config["SYNC_FAULTS"] = None
    a = a.restart(**PAGE)
    report = a.sync()
    assert report.ok
    assert report.rejected == 0
    assert central.count(Family) == 12
    assert_converged(central, a)
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))
    assert a.status()["pending"] == 0
    assert {r["status"] for r in a.outbox()} == {"acked"}


@pytest.mark.parametrize("point", PULL_FAULTS)
def test_crash_during_pull_then_restart_resumes_and_the_cursor_is_never_ahead(
        central, make_node, point):
    c1 = central.add_community("C1")
    a = make_node("AAA", **PAGE)
    b = make_node("BBB", **PAGE)
    a.enrol(central, communities=("C1",))
    b.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 14)
    a.sync()
    b.app.config["SYNC_FAULTS"] = {point: 3}
    with pytest.raises(SimulatedCrash):
        b.sync()
    assert_cursor_not_ahead(central, b)
    b = b.restart(**PAGE)
    assert_cursor_not_ahead(central, b)
    assert b.sync().ok
    assert_converged(central, b)


def test_a_crash_while_writing_the_outbox_takes_the_write_back_too(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    a.app.config["SYNC_FAULTS"] = {"capture.outbox_write": 1}
    with pytest.raises(SimulatedCrash):
        a.add_family(c1)
    assert a.count(Family) == 0
    assert a.outbox() == []
    a.app.config["SYNC_FAULTS"] = None
    a.add_family(c1)
    # The family and its audit entry, numbered 1 and 2: no number lost to the crash.
    assert [(r["seq"], r["table_name"]) for r in a.outbox()] == [
        (1, "families"), (2, "audit_log")]
    a.sync()
    assert_converged(central, a)


def test_a_lost_answer_and_retries_sequential_and_concurrent_make_one_row_each(
        central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 6)
    lines = _pending_lines(a)
    body = b"\n".join(lines)
    transport = a.transport()
    first = transport.post("/push", body=body, content_type="application/x-ndjson")
    again = transport.post("/push", body=body, content_type="application/x-ndjson")
    transport.close()
    assert first["acked"] == again["acked"] == len(lines) == 12  # families and audit entries
    assert central.count(Family) == 6

    more = _families(a, c1, 5, start=10)
    lines = [line for line in _pending_lines(a) if json.loads(line)["s"] > 12]
    body = b"\n".join(lines)
    answers, failures = [], []

    def send() -> None:
        t = a.transport()
        try:
            answers.append(t.post("/push", body=body, content_type="application/x-ndjson"))
        except errors.SyncError as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            t.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert {a_["acked"] for a_ in answers} == {22}
    assert central.count(Family) == 11
    assert all(central.get(Family, i) is not None for i in more)
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))
    a.sync()  # the node learns its operations were applied; nothing is applied again
    assert a.status()["pending"] == 0
    assert_converged(central, a)


def test_the_same_number_with_other_data_is_refused_and_quarantined(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    [family] = _families(a, c1, 1)
    original = _pending_lines(a)
    a.sync()
    op = json.loads(original[0])
    op["d"]["head_given_names"] = "Otra Persona"
    forged = json.dumps(op, separators=(",", ":")).encode()
    transport = a.transport()
    answer = transport.post("/push", body=forged, content_type="application/x-ndjson")
    transport.close()
    assert answer["rejected"] == [{"s": op["s"], "code": "seq_reused",
                                   "message": answer["rejected"][0]["message"]}]
    assert central.get(Family, family)["head_given_names"] == "Persona 0"
    [held] = [q for q in central.rows(central.state.tables.quarantine).values()
              if q["code"] == "seq_reused"]
    assert held["node_seq"] == op["s"]
    assert "Otra Persona" in held["payload"]


def _sqlite_copy(source: str, target: str) -> None:
    """SQLite's online backup of ``source`` into ``target``: a consistent copy whatever the log
    holds and whatever the background checkpoint thread is doing (copying the file races with
    both); a live database is replaced transactionally, its other connections see the copy."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def test_a_node_restored_from_a_backup_keeps_its_new_work_in_quarantine(central, make_node,
                                                                        tmp_path):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 1)
    a.sync()
    database = a.app.instance_path + "/fieldapp.sqlite"
    backup = str(tmp_path / "backup.sqlite")
    _sqlite_copy(database, backup)
    _families(a, c1, 1, start=1)
    a.sync()
    with a.app.app_context():
        db.engine.dispose()
    _sqlite_copy(backup, database)
    a = a.restart()
    # New work gets operation number 3 again, which central already has with other data.
    lost = a.add(Family, code="AM-AAA-0777", community_id=c1, head_given_names="Lucía",
                 head_surname="Pinedo Ríos", members_count=3)
    with pytest.raises(errors.SequenceRegressed) as regressed:
        a.sync()  # central has operations 1-4 of this node; the node counts to 3
    assert regressed.value.details == {"acked": 4, "node": 3}
    assert a.status()["last_error"]["code"] == "sequence_regressed"
    assert a.status()["pending"] == 1  # kept
    from sync.node.runner import resequence

    with a.app.app_context():
        assert resequence(a.state) == 1  # `fieldapp node resequence`
    a.sync()
    assert central.get(Family, lost) is not None
    assert_converged(central, a)


def _backup(central, folder):
    """A copy of central's database as it is now: SQLite's online backup into a file in
    ``folder``, or on PostgreSQL a database made from it as a template (sequences and all, as
    pg_dump and pg_restore would bring them back). Returned for :func:`_restore`."""
    if central.backend == "sqlite":
        copy = str(folder / "central-backup.sqlite")
        _sqlite_copy(central.app.instance_path + "/fieldapp.sqlite", copy)
        return copy
    copy = f"{_pg_name(central)}_backup"
    _pg_clone(central, _pg_name(central), copy)
    return copy


def _restore(central, copy) -> None:
    """Central's database replaced by the copy :func:`_backup` made (the copy is used up)."""
    if central.backend == "sqlite":
        _sqlite_copy(copy, central.app.instance_path + "/fieldapp.sqlite")
        return
    _pg_clone(central, copy, _pg_name(central), replace=True)


def _pg_name(central) -> str:
    with central.app.app_context():
        return db.engine.url.database


def _pg_clone(central, source: str, target: str, replace: bool = False) -> None:
    """CREATE DATABASE ``target`` TEMPLATE ``source`` (``replace``: ``target`` dropped first,
    ``source`` dropped after). A template must have no session: central's are closed first; its
    next request connects again."""
    import sqlalchemy as sa
    from conftest import PG_ADMIN_URL

    with central.app.app_context():
        db.session.remove()
        db.engine.dispose()
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if replace:
                conn.execute(sa.text(f'DROP DATABASE "{target}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
            if replace:
                conn.execute(sa.text(f'DROP DATABASE "{source}"'))
                # A database's settings are not copied with it (see conftest.pg_database).
                conn.execute(sa.text(f'ALTER DATABASE "{target}" SET synchronous_commit = off'))
    finally:
        admin.dispose()


def test_central_restored_from_a_backup_gets_the_nodes_work_again(central, make_node,
                                                                   tmp_path):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    b = make_node("BBB")
    b.enrol(central, communities=("C1",))
    a.sync()
    b.sync()
    [first] = _families(a, c1, 1)
    a.sync()
    b.sync()
    backup = _backup(central, tmp_path)
    # After the backup: a new family and an edit from A, which B pulls.
    [second] = _families(a, c1, 1, start=1)
    a.edit(Family, first, head_given_names="Rosa")
    a.sync()
    b.sync()
    assert b.get(Family, second) is not None
    _restore(central, backup)  # central restored: it lost A's family and edit
    assert central.get(Family, second) is None
    # B works on: central numbers its changes again over those A and B had pulled.
    made_by_b = _families(b, c1, 6, start=10)
    b.sync()
    with a.app.app_context(), central.app.app_context():
        from sync.central import feed
        from sync.node import local

        assert feed.horizon(central.state, db.session) >= local.get_value(a.state, "cursor")
    a.sync()  # sends its operations again, pulls its scope from the start
    assert central.get(Family, second) is not None
    assert central.get(Family, first)["head_given_names"] == "Rosa"
    assert all(a.get(Family, f) is not None for f in made_by_b)
    b.sync()
    assert b.get(Family, first)["head_given_names"] == "Rosa"
    assert_converged(central, a)
    assert_converged(central, b)
    assert_cursor_not_ahead(central, a)
    assert [r["status"] for r in a.outbox()] == ["acked"] * len(a.outbox())


def test_a_node_that_no_longer_keeps_what_central_lost_says_so(central, make_node, tmp_path):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    backup = _backup(central, tmp_path)
    _families(a, c1, 2)
    a.sync()
    with a.app.app_context():  # dropped after SYNC_OUTBOX_KEEP_DAYS
        o = a.state.tables.outbox
        db.session.execute(o.delete().where(o.c.seq == 1))
        db.session.commit()
    _restore(central, backup)
    waiting = _families(a, c1, 1, start=5)
    pending = a.status()["pending"]
    assert pending >= 1
    with pytest.raises(errors.CentralRegressed):
        a.sync()
    status = a.status()
    assert status["last_error"]["code"] == "central_regressed"
    assert status["pending"] == pending  # nothing of its own work dropped
    assert central.get(Family, waiting[0]) is None


def test_resend_all_recovers_what_central_lost_and_the_node_no_longer_keeps(central, make_node,
                                                                             tmp_path):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    [kept, gone] = _families(a, c1, 2, start=0)
    a.sync()
    backup = _backup(central, tmp_path)
    on_central = max(r["seq"] for r in a.outbox())
    # After the backup: two families, an edit and a delete; the first operation after it is
    # pruned.
    lost = _families(a, c1, 2, start=2)
    a.edit(Family, kept, head_given_names="Rosa")
    with a.app.app_context():
        db.session.delete(db.session.get(Family, gone))
        db.session.commit()
    a.sync()
    assert central.get(Family, gone) is None
    with a.app.app_context():
        o = a.state.tables.outbox
        db.session.execute(o.delete().where(o.c.seq == on_central + 1))
        db.session.commit()
    _restore(central, backup)
    waiting = _families(a, c1, 1, start=5)
    with pytest.raises(errors.CentralRegressed):
        a.sync()
    runner = a.app.test_cli_runner()
    result = runner.invoke(args=["node", "resend-all"])
    assert result.exit_code == 0, result.output
    sent = int(result.output.split()[0])  # "N operations will send every record again"
    assert sent > len(a.rows(Family))
    assert a.status()["pending"] == sent
    result = runner.invoke(args=["node", "resend-all"])  # done: nothing more to recover
    assert "central lost nothing" in result.output
    assert a.status()["pending"] == sent
    a.sync()
    assert a.status()["last_error"] is None
    for family in [*lost, *waiting]:
        assert central.get(Family, family) is not None
    assert central.get(Family, gone) is None  # the delete, still kept, went out again
    # The edit central lost meets its older copy: both values kept for a coordinator.
    found = {c["field"]: c for c in central.rows(central.state.tables.conflicts).values()}
    assert set(found) == {"head_given_names", "search_text"}  # the name, and what it is found by
    conflict = found["head_given_names"]
    assert (conflict["kind"], conflict["status"]) == ("field", "open")
    assert (conflict["central_value"], conflict["node_value"]) == ("Persona 0", "Rosa")
    assert_converged(central, a)
    assert_cursor_not_ahead(central, a)
    assert {r["status"] for r in a.outbox()} == {"acked"}
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))


def test_the_same_number_reused_by_a_node_is_quarantined_on_the_node(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    a.add(Family, code="AM-AAA-0001", community_id=c1, head_given_names="Ana",
          head_surname="Ríos", members_count=2)
    a.sync()
    # The node's outbox says operation 2 (still to send) but central has a different 2.
    transport = a.transport()
    other = a.add(Family, code="AM-AAA-0002", community_id=c1, head_given_names="Eva",
                  head_surname="Soto", members_count=2)
    line = _pending_lines(a)[0]
    op = json.loads(line)
    op["d"]["head_given_names"] = "Otra"
    transport.post("/push", body=json.dumps(op).encode(), content_type="application/x-ndjson")
    transport.close()
    report = a.sync()
    assert [(r["s"], r["code"]) for r in report.rejections] == [(2, "seq_reused")]
    assert [r["status"] for r in a.outbox()] == ["acked", "quarantined"]
    assert a.status()["quarantined"] == 1
    from sync.node.local import requeue

    with a.app.app_context():
        assert requeue(a.state, 2) == 3
    a.sync()
    assert central.get(Family, other)["head_given_names"] == "Otra"  # the forged copy won
    assert a.status()["quarantined"] == 0


def _push_log(central):
    """(first, last, replayed) of every push page central applied, in order."""
    return [(d["first"], d["last"], d["replayed"])
            for r in sorted(central.rows(central.state.tables.log).values(), key=lambda r: r["id"])
            if r["action"] == "push" and (d := r["detail"])["last"]]


def test_push_pages_keep_to_the_byte_limit(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA", SYNC_PUSH_PAGE_BYTES=2500)
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 6)
    pending = _pending_lines(a)
    from sync.node import local

    with a.app.app_context():
        lines = local.outbox_page(a.state, 1000, 2500)
        assert 1 < len(lines) < len(pending)
        assert lines == pending[: len(lines)]  # the first ones, in order, as they are sent
        assert len(b"\n".join(lines)) <= 2500 < len(b"\n".join(pending[: len(lines) + 1]))
        assert local.outbox_page(a.state, 1000, 10) == pending[:1]  # a line longer goes alone
        assert local.outbox_page(a.state, 2, 10**6) == pending[:2]
        assert local.outbox_page(a.state, 1000, 10**6, after=3) == [
            line for line in pending if json.loads(line)["s"] > 3]
    a.sync()
    pages = _push_log(central)
    assert len(pages) > 1
    assert [first for first, _last, _r in pages[1:]] == [last + 1 for _f, last, _r in pages[:-1]]
    assert_converged(central, a)


def _page_sizes(central):
    return [last - first + 1 for first, last, _replayed in _push_log(central)]


def test_push_pages_grow_while_central_answers_quickly(central, make_node):
    """Over a fast link the pages grow, twice as large after each quick answer, up to
    ``SYNC_PUSH_PAGE_GROWTH`` times the configured size; every operation goes once, in order."""
    c1 = central.add_community("C1")
    a = make_node("AAA", SYNC_PUSH_PAGE_OPS=5, SYNC_PUSH_FAST_S=60.0)
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 30)  # 60 operations
    report = a.sync()
    assert (report.pushed, report.rejected) == (60, 0)
    # Two pages go out at the configured size and the third is read before the first answer;
    # then each answer doubles the next page read, up to four times the size.
    assert _page_sizes(central) == [5, 5, 5, 10, 20, 15]
    pages = _push_log(central)
    assert [first for first, _last, _r in pages[1:]] == [last + 1 for _f, last, _r in pages[:-1]]
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))
    assert_converged(central, a)


def test_push_pages_come_back_to_their_size_when_answers_slow_down(central, make_node):
    """A page answered slowly (a weak link, a busy central) brings the next pages read back to
    the configured size: a page cut on the way is sent again whole."""
    import time

    from flask import request

    def slow_after_ten() -> None:  # the pages after operation 10 reach the lock late
        after = request.headers.get("X-Sync-After", "")
        if after.isdigit() and int(after) >= 10:
            time.sleep(1.0)

    c1 = central.add_community("C1")
    a = make_node("AAA", SYNC_PUSH_PAGE_OPS=5, SYNC_PUSH_FAST_S=0.5)
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 30)  # 60 operations
    central.app.config["SYNC_FAULTS"] = {"central.push.before_lock": slow_after_ten}
    report = a.sync()
    central.app.config["SYNC_FAULTS"] = None
    assert (report.pushed, report.rejected) == (60, 0)
    # The first two answers are quick (pages of 10, then 20, are read), the third is slow:
    # the pages read after it are back to 5 operations (growing on, the last would be 15).
    assert _page_sizes(central) == [5, 5, 5, 10, 20, 5, 5, 5]
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))
    assert_converged(central, a)


def test_push_pages_keep_their_size_with_no_growth(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA", SYNC_PUSH_PAGE_OPS=5, SYNC_PUSH_PAGE_GROWTH=1, SYNC_PUSH_FAST_S=60.0)
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 10)
    a.sync()
    assert _page_sizes(central) == [5, 5, 5, 5]


def _slow_first_pages(seconds: float):
    """A central fault: a page not sent ahead (no ``X-Sync-After``) is slow to reach the
    node's lock, so the page sent ahead of it on the other connection gets there first."""
    import time

    from flask import request

    def slow() -> None:
        if "X-Sync-After" not in request.headers:
            time.sleep(seconds)

    return slow


def test_a_page_sent_ahead_waits_for_the_page_before_it(central, make_node):
    """The node keeps two pages in flight, on two connections. When the second reaches the
    node's lock first, central waits for the first, then applies both in order, once."""
    c1 = central.add_community("C1")
    a = make_node("AAA", **PAGE)
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 12)  # 24 operations: five pages
    central.app.config["SYNC_FAULTS"] = {"central.push.before_lock": _slow_first_pages(0.4)}
    report = a.sync()
    central.app.config["SYNC_FAULTS"] = None
    assert (report.pushed, report.rejected) == (24, 0)
    assert report.requests == 7  # handshake, five pages (none sent twice), one pull
    assert _push_log(central) == [(1, 5, 0), (6, 10, 0), (11, 15, 0), (16, 20, 0), (21, 24, 0)]
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))
    assert a.status()["pending"] == 0
    assert_converged(central, a)


def test_a_page_that_overtook_the_one_before_is_sent_again(central, make_node):
    """Should central not wait (or the page before be slower still), the page sent ahead is
    refused as a gap; the node sends it again once the page before it is recorded."""
    c1 = central.add_community("C1")
    a = make_node("AAA", **PAGE)
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 4)  # 8 operations: two pages
    central.app.config["SYNC_AHEAD_WAIT"] = 0
    central.app.config["SYNC_FAULTS"] = {"central.push.before_lock": _slow_first_pages(0.4)}
    report = a.sync()
    central.app.config["SYNC_FAULTS"] = None
    assert (report.pushed, report.rejected) == (8, 0)
    # handshake, page 1, page 2 (refused: it overtook page 1), page 2 again, one pull
    assert report.requests == 5
    assert _push_log(central) == [(1, 5, 0), (6, 8, 0)]
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))
    assert_converged(central, a)


def test_a_cut_link_resumes_from_the_last_committed_page(central, make_node):
    c1 = central.add_community("C1")
    proxy = LinkProxy(central.server.port)
    try:
        a = make_node("AAA", **PAGE)
        b = make_node("BBB", **PAGE)
        a.enrol(central, communities=("C1",), url=proxy.url)
        b.enrol(central, communities=("C1",), url=proxy.url)
        a.sync()
        _families(a, c1, 14)

        sends = []

        def cut_third_page() -> None:
            sends.append(1)
            if len(sends) == 3:
                proxy.cut_upload_after(150)  # mid-request: the page never arrives whole

        a.app.config["SYNC_FAULTS"] = {"push.before_send": cut_third_page}
        with pytest.raises(errors.SyncError):
            a.sync()
        a.app.config["SYNC_FAULTS"] = None
        assert central.count(Family) == 5  # two pages of five operations committed
        assert a.status()["pending"] == 28 - 10  # the rest, and nothing re-sent
        a.sync()
        log = [r["detail"] for r in central.rows(central.state.tables.log).values()
               if r["action"] == "push" and r["detail"]["last"]]
        assert [(d["first"], d["last"], d["replayed"]) for d in log] == [
            (1, 5, 0), (6, 10, 0), (11, 15, 0), (16, 20, 0), (21, 25, 0), (26, 28, 0)]

        pulls = []

        def cut_third_pull() -> None:
            pulls.append(1)
            if len(pulls) == 3:
                proxy.cut_download_after(400)  # mid-answer: a truncated gzip body

        b.app.config["SYNC_FAULTS"] = {"pull.before_request": cut_third_pull}
        with pytest.raises(errors.SyncError) as cut:
            b.sync()
        assert cut.value.code in ("bad_response", "unreachable")
        b.app.config["SYNC_FAULTS"] = None
        saved = b.cursor()
        assert saved > 0
        assert_cursor_not_ahead(central, b)
        b.sync()
        from fieldapp.nodes.models import Node

        b_id = [n["id"] for n in central.rows(Node).values() if n["code"] == "BBB"][0]
        b_log = [r for r in sorted(central.rows(central.state.tables.log).values(),
                                   key=lambda r: r["id"]) if r["node_id"] == b_id]
        resumed = max(n for n, r in enumerate(b_log) if r["action"] == "handshake")
        first_pull_after = [r["detail"]["after"] for r in b_log[resumed:]
                            if r["action"] == "pull"][0]
        assert first_pull_after == saved  # resumed there, not from the start
        assert_converged(central, b)
        assert proxy.cuts == 2
    finally:
        proxy.close()


def _push_gzip(central, node, body: bytes) -> tuple[int, dict]:
    """POST ``body`` (already gzip, or meant to be) as the node's push page: (status, answer)."""
    import http.client

    auth = node.transport().auth
    conn = http.client.HTTPConnection("127.0.0.1", central.server.port, timeout=10)
    try:
        conn.request("POST", "/sync/v1/push", body=body, headers={
            "Content-Encoding": "gzip", "Content-Type": "application/x-ndjson",
            "Authorization": auth})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_a_truncated_gzip_body_is_refused_and_nothing_is_applied(central, make_node):
    import gzip

    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 8)
    body = gzip.compress(b"\n".join(_pending_lines(a)))
    status, answer = _push_gzip(central, a, body[: len(body) // 2])
    assert status == 400
    assert answer["error"]["code"] == "bad_body"
    assert central.count(Family) == 0
    a.sync()
    assert central.count(Family) == 8


def test_gzip_from_either_library_is_read_and_a_bad_body_is_refused(make_central, make_node):
    """Nodes upgrade in the field one by one: a body gzipped by the standard library (as nodes
    before zlib-ng sent) is applied; a damaged one, or one inflating past the limit, is
    refused with its code and applies nothing."""
    import gzip

    central = make_central(SYNC_MAX_INFLATED=20_000)
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()

    def post(body: bytes) -> tuple[int, dict]:
        return _push_gzip(central, a, body)

    _families(a, c1, 3)
    plain = b"\n".join(_pending_lines(a))
    damaged = bytearray(gzip.compress(plain))
    damaged[len(damaged) // 2 :] = bytes(len(damaged) - len(damaged) // 2)  # zeros from the middle
    status, refused = post(bytes(damaged))
    assert (status, refused["error"]["code"]) == (400, "bad_body")
    assert central.count(Family) == 0

    status, answer = post(gzip.compress(plain, compresslevel=6))  # the standard library's gzip
    assert status == 200
    assert answer["acked"] == json.loads(plain.split(b"\n")[-1])["s"]
    assert central.count(Family) == 3

    _families(a, c1, 40, start=3)  # some 30 KB of JSON: past the limit once inflated
    big = b"\n".join(line for line in _pending_lines(a) if json.loads(line)["s"] > answer["acked"])
    assert len(big) > 20_000
    status, refused = post(wire.gzip(big))
    assert (status, refused["error"]["code"]) == (413, "too_large")
    assert central.count(Family) == 3


def test_the_wire_gzip_is_standard_gzip_both_ways():
    import gzip

    data = b"".join(b'{"s":%d,"t":"families","d":{"head_surname":"Fasabi"}}\n' % i
                    for i in range(2000))
    packed = wire.gzip(data)
    assert len(packed) < len(data) // 10
    assert gzip.decompress(packed) == data  # what an older central or node reads
    assert wire.gunzip(gzip.compress(data)) == (data, True)  # what an older node sends
    part, whole = wire.gunzip(packed[: len(packed) // 2])  # cut on the way: a part, not whole
    assert not whole
    assert data.startswith(part)
    assert len(wire.gunzip(packed, limit=1000)[0]) == 1001  # never inflates far past a limit
    with pytest.raises(wire.error):
        wire.gunzip(b"\x1f\x8b" + bytes(40))


def test_gaps_duplicates_and_replayed_old_pages(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    b = make_node("BBB")
    a.enrol(central, communities=("C1",))
    b.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 8)
    lines = _pending_lines(a)
    transport = a.transport()
    try:
        with pytest.raises(errors.SequenceGap) as gap:
            transport.post("/push", body=b"\n".join(lines[2:5]),
                           content_type="application/x-ndjson")
        assert gap.value.details["expected"] == 1
        assert central.count(Family) == 0
        with pytest.raises(errors.BadBody):
            transport.post("/push", body=b"\n".join([lines[1], lines[0]]),
                           content_type="application/x-ndjson")
        assert transport.post("/push", body=b"\n".join(lines[:3]),
                              content_type="application/x-ndjson")["acked"] == 3
        assert transport.post("/push", body=b"\n".join(lines[:3]),
                              content_type="application/x-ndjson")["acked"] == 3
        assert transport.post("/push", body=b"\n".join(lines[1:6]),
                              content_type="application/x-ndjson")["acked"] == 6
        assert transport.post("/push", body=lines[0],
                              content_type="application/x-ndjson")["acked"] == 6
        with pytest.raises(errors.SequenceGap) as gap:
            transport.post("/push", body=lines[7], content_type="application/x-ndjson")
        assert gap.value.details["expected"] == 7
    finally:
        transport.close()
    assert central.count(Family) == 3  # operations 1 to 6: three families and their audit
    a.sync()
    b.sync()
    assert central.count(Family) == 8
    for node in (a, b):
        assert_converged(central, node)
    assert all(count == 1 for _seq, count in _changes_of(central, "AAA"))


@pytest.mark.parametrize("after", ["²", "abc", "-1", "99999999999999999999", "0"])
def test_an_odd_sync_after_header_changes_nothing(central, make_node, after):
    """``X-Sync-After`` only ever makes a page wait for the page just before it: any other
    value is no reason to wait, and never a failure (a gap stays a gap, at once)."""
    import time

    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    _families(a, c1, 3)
    lines = _pending_lines(a)
    transport = a.transport()
    headers = {"Content-Type": "application/x-ndjson", "X-Sync-After": after}
    try:
        started = time.monotonic()
        with pytest.raises(errors.SequenceGap):
            transport.send("/push", b"\n".join(lines[2:]), headers)
        assert time.monotonic() - started < 2  # refused at once, not after SYNC_AHEAD_WAIT
        assert transport.send("/push", b"\n".join(lines[:2]), headers)["acked"] == 2
    finally:
        transport.close()


def test_a_run_of_inserts_mixing_fresh_refused_repeated_and_replayed_records(central, make_node):
    """One page, one table: fresh families go in together, one out of scope and one sent twice
    are refused on their own, and the page sent again changes nothing."""
    import hashlib

    from fieldapp.nodes.models import Node

    c1 = central.add_community("C1")
    c3 = central.add_community("C3")
    a, template = _family_template(central, make_node, c1)

    def family(seq, community, name):
        return _family_op(template, seq, str(uuid.uuid4()), community, head_given_names=name)

    first = family(1, c1, "Primera")
    ops = [first, family(2, c3, "Fuera"), {**first, "s": 3}, family(4, c1, "Cuarta"),
           family(5, c1, "Quinta")]
    lines = [json.dumps(op, separators=(",", ":")).encode() for op in ops]
    transport = a.transport()
    try:
        answer = transport.post("/push", body=b"\n".join(lines),
                                content_type="application/x-ndjson")
        again = transport.post("/push", body=b"\n".join(lines),
                               content_type="application/x-ndjson")
    finally:
        transport.close()
    refused = sorted((r["s"], r["code"]) for r in answer["rejected"])
    assert answer["acked"] == 5
    assert refused == [(2, "out_of_scope"), (3, "duplicate_key")]
    assert sorted((r["s"], r["code"]) for r in again["rejected"]) == refused  # the same
    applied = {uuid.UUID(ops[i]["i"]) for i in (0, 3, 4)}
    assert {row_id for row_id, row in central.rows(Family).items()} == applied
    assert central.get(Family, uuid.UUID(ops[3]["i"]))["head_given_names"] == "Cuarta"
    ch = central.state.tables.changes
    with central.app.app_context():
        node_id = db.session.execute(select(Node.id).where(Node.code == "AAA")).scalar_one()
        log = db.session.execute(
            select(ch.c.node_seq, ch.c.row_id, ch.c.op, ch.c.community_id, ch.c.echo,
                   ch.c.op_digest).where(ch.c.node_id == node_id).order_by(ch.c.server_seq)
        ).all()
        db.session.rollback()
    digest = {op["s"]: hashlib.blake2b(line, digest_size=16).hexdigest()
              for op, line in zip(ops, lines, strict=True)}
    assert [tuple(entry) for entry in log] == [
        (s, uuid.UUID(ops[s - 1]["i"]), "u", c1, False, digest[s]) for s in (1, 4, 5)]
    held = sorted((q["node_seq"], q["code"])
                  for q in central.rows(central.state.tables.quarantine).values())
    assert held == refused  # quarantined once, not again on the replay


def test_an_answer_is_read_by_orjson_and_what_only_the_standard_library_reads_still_is():
    """Answers are parsed by orjson; what it refuses and ``json`` reads (NaN, integers past 64
    bits, UTF-16) is read as before, and what neither reads is a ``ValueError`` (the transport
    turns it into ``bad_response``)."""
    import math

    from sync.node.transport import _loads

    assert _loads('{"t": [{"n": "families", "r": [["é", 1, 2.5, null, true]]}]}'.encode()) == {
        "t": [{"n": "families", "r": [["é", 1, 2.5, None, True]]}]}
    assert _loads(b'{"n": 18446744073709551616}') == {"n": 2**64}
    assert math.isnan(_loads(b'{"x": NaN}')["x"])
    assert _loads('{"a": "ñ"}'.encode("utf-16")) == {"a": "ñ"}
    for broken in (b'{"a": ', b"\x1f\x8b\x08", b"<html>502</html>"):
        with pytest.raises(ValueError, match="Expecting value|can't decode"):
            _loads(broken)


def test_ids_python_would_read_as_hex_but_are_not_uuids_are_refused(central, make_node):
    """``int(text, 16)`` also reads "0x", "_", "+" and whitespace: a pushed id of that form
    is refused as invalid (before, SQLite stored its text as the id, and central's pages could
    no longer read the row), a UUID in capitals or without dashes goes in as that UUID."""
    c1 = central.add_community("C1")
    a, template = _family_template(central, make_node, c1)
    good = [uuid.uuid4() for _ in range(3)]
    lax = ["0x" + "ab" * 15, "+" + "a" * 31, " " + "a" * 31, "aaaaaaaa-1_23-aaaa-aaaa-aaaaaaaaaaaa",
           "٣" + "a" * 31]  # an Arabic-Indic digit: int() reads it too

    def family(seq, row_id, **values):
        return _family_op(template, seq, row_id, c1, **values)

    ops = [family(1, str(good[0])), family(2, str(good[1]).upper()), family(3, good[2].hex)]
    ops += [family(4 + n, row_id) for n, row_id in enumerate(lax)]
    ops += [family(4 + len(lax), str(uuid.uuid4()), community_id="0x" + "ab" * 15)]
    answer = _post_push(a, [json.dumps(op, separators=(",", ":"), ensure_ascii=False).encode()
                            for op in ops])
    assert answer["acked"] == len(ops)
    assert sorted(r["s"] for r in answer["rejected"]) == list(range(4, len(ops) + 1))
    assert {r["code"] for r in answer["rejected"]} == {"invalid"}
    assert set(central.rows(Family)) == set(good)  # every row read back as a UUID


def test_numbers_json_allows_but_no_column_holds_are_refused_one_by_one(central, make_node):
    """Integers past 64 bits (a value, or an update's version), NaN and infinities (JSON Python
    reads) in an insert or an update are refused as invalid on their own: never a failure of
    the page (SQLite's driver raised OverflowError: a 500), nor a NaN kept as NULL."""
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    [kept] = _families(a, c1, 1)
    assert a.sync().ok
    fresh = _families(a, c1, 4, start=1)
    a.edit(Family, kept, members_count=5)  # families are added with 4 members
    big = b"123456789012345678901234"
    inserted = {str(fresh[0]): big, str(fresh[1]): b"NaN", str(fresh[2]): b"Infinity"}
    lines, refused = [], []
    for line in _pending_lines(a):
        op = json.loads(line)
        if op["t"] != "families":
            lines.append(line)
            continue
        if op["o"] == "u":  # the update, and four more of the same family: four refused
            lines += [line.replace(b'"s":%d,' % op["s"], b'"s":%d,' % (op["s"] + n), 1)
                      .replace(b'"members_count":5', b'"members_count":' + value)
                      .replace(b'"v":%d' % op["v"], b'"v":' + (big if n == 3 else b"%d" % op["v"]))
                      for n, value in enumerate((big, b"NaN", b"-Infinity", b"6", b"7"))]
            refused += [op["s"] + n for n in range(4)]
            break
        value = inserted.get(op["i"])
        if value is not None:  # the raw JSON text, as a device could send it
            lines.append(line.replace(b'"members_count":4', b'"members_count":' + value))
            refused.append(op["s"])
        else:
            lines.append(line)
    assert len(refused) == 7
    assert sum(b"NaN" in line or b"Infinity" in line or big in line for line in lines) == 7
    answer = _post_push(a, lines)
    codes = {r["s"]: r["code"] for r in answer["rejected"]}
    assert {s: codes.get(s) for s in refused} == dict.fromkeys(refused, "invalid")
    # The audit entries of the three refused families wait for them; nothing else is refused.
    assert sorted(code for s, code in codes.items() if s not in refused) == ["missing_parent"] * 3
    families = central.rows(Family)
    assert set(families) == {kept, fresh[3]}
    assert families[kept]["members_count"] == 7


def test_text_with_a_lone_surrogate_is_refused_on_its_own(central, make_node):
    """JSON may escape half of a UTF-16 pair ("\\ud800"): the standard library reads it into
    text no database stores. Such an insert or update is refused as invalid on its own (the
    driver's encoding error made the whole page a 500). Nor is a table name carrying such
    text, or NUL, which PostgreSQL's text does not hold, the page's failure."""
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    [kept] = _families(a, c1, 1)
    assert a.sync().ok
    fresh = _families(a, c1, 3, start=1)
    a.edit(Family, kept, notes="antes")
    lines, refused = [], []
    for line in _pending_lines(a):
        op = json.loads(line)
        if op["t"] == "families" and (op["o"] == "u" or op["i"] == str(fresh[1])):
            field = b'"notes":"antes"' if op["o"] == "u" else b'"head_surname":"Fasabi Torres"'
            assert field in line
            line = line.replace(field, field.split(b":")[0] + b':"Fasabi \\ud800"')
            refused.append(op["s"])
        lines.append(line)
    last = json.loads(lines[-1])["s"]  # and tables no database names (kept in quarantine)
    lines += [b'{"s":%d,"t":"%s","o":"d","i":"%s"}' % (last + n, name, str(kept).encode())
              for n, name in ((1, b"fam\\u0000ilies"), (2, b"\\ud800"))]
    answer = _post_push(a, lines)
    codes = {r["s"]: r["code"] for r in answer["rejected"]}
    assert {s: codes.get(s) for s in refused} == dict.fromkeys(refused, "invalid")
    assert sorted(code for s, code in codes.items() if s not in refused) == [
        "missing_parent", "unknown_table", "unknown_table"]
    assert set(central.rows(Family)) == {kept, fresh[0], fresh[2]}
    assert central.get(Family, kept)["notes"] is None
    held = {q["node_seq"]: q["table_name"]
            for q in central.rows(central.state.tables.quarantine).values()}
    assert (held[last + 1], held[last + 2]) == ("fam?ilies", "?")
