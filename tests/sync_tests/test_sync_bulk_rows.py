"""Rows inserted in bulk on central (the demo program at scale: ``insert_rows``, with COPY on
PostgreSQL) are logged like any change: a node of their community pulls them, with the
defaults of the columns the rows left out; a node of another community does not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select
from synckit import Central, Node

from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.models import new_id
from sync.capture.events import insert_rows


def test_rows_inserted_in_bulk_on_central_reach_the_nodes_of_their_scope(
        central: Central, make_node: Callable[..., Node]) -> None:
    central.add_community("C2")
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    c1 = new_id()
    rows = [{"id": new_id(), "created_at": now, "updated_at": now, "version": 1,
             "voided": False, "origin_node": central.app.config["NODE_ID"], "community_id": c1,
             "code": f"AM-CEN-{n:04d}", "head_given_names": "Rosa", "head_surname": f"Vela {n}",
             "search_text": f"rosa vela {n}", "members_count": 3}
            for n in range(1, 8)]
    with central.app.app_context():
        # Their community made through the ORM in the same transaction: logged before them
        # (a node applies parents first), not at the commit after them.
        db.session.add(Community(id=c1, code="C1", name="Comunidad C1", district="Moyobamba"))
        insert_rows(db.session, Family, rows, batch=3)  # three COPY batches on PostgreSQL
        db.session.commit()
    # Pages of three rows: the families fill pages before their community's would come.
    here, elsewhere = make_node("AAA", SYNC_PULL_PAGE_ROWS=3), make_node("BBB")
    here.enrol(central, communities=("C1",))
    elsewhere.enrol(central, communities=("C2",))
    here.sync()
    elsewhere.sync()
    with here.app.app_context():
        got = db.session.execute(select(Family.code, Family.status, Family.data_consent)
                                 .order_by(Family.code)).all()
    assert [code for code, _s, _c in got] == [r["code"] for r in rows]
    # Left out of the rows: the columns' own defaults, as insert() would give them.
    assert {(status, consent) for _code, status, consent in got} == {("active", False)}
    assert here.status()["quarantined"] == 0
    with elsewhere.app.app_context():
        assert db.session.execute(select(func.count(Family.id))).scalar() == 0
