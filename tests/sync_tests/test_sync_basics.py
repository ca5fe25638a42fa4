"""Enrolment and a first round trip between a field node and central."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.families.models import Family


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_demo_node_pushes_everything_and_a_new_node_pulls_it(central, make_node):
    a = make_node("AAA", demo=True)
    a.enrol(central, all_communities=True)
    report = a.sync()
    assert report.ok
    assert report.rejected == 0
    assert count(central.app, Family) == count(a.app, Family) > 50
    assert a.status()["pending"] == 0

    b = make_node("BBB")
    b.enrol(central, all_communities=True)
    report = b.sync()
    assert report.ok
    assert report.pulled > 1000
    assert count(b.app, Family) == count(a.app, Family)

    again = a.sync()
    assert again.requests <= 2
