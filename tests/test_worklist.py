"""The promotor's worklist through the home page and the tablet's stored copy: what is waiting
in the user's communities (grouped by community), each item linking to the form that resolves
it, and gone once done."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from cyclekit import START, agreement_in_state, login, seed

from fieldapp.extensions import db

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(app: Any) -> dict[str, Any]:
    """Two communities; in C001 a family under an active agreement ending soon (never visited,
    benefits owed), a family with a draft and no consent; in C002 a family of another promotor.
    """
    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    seed(app)
    with app.test_request_context():
        c1 = Community(code="C001", name="Aguas Verdes", district="Moyobamba")
        c2 = Community(code="C002", name="Bellavista", district="Moyobamba")
        db.session.add_all([c1, c2])
        db.session.flush()

        def family(surname: str, community: Any, consent: bool = True) -> uuid.UUID:
            return create_family({"head_given_names": "Rosa", "head_surname": surname,
                                  "members_count": 3, "community_id": community.id,
                                  "data_consent": consent, "confirm_not_duplicate": True}).id

        ids = {"active": family("Huamán", c1), "draft": family("Tuanama", c1, consent=False),
               "other": family("Pinedo", c2)}
        db.session.commit()
    today = START + timedelta(days=340)  # the agreement (START..END) ends in 25 days
    ids["agreement"] = agreement_in_state(app, ids["active"], "active")
    ids["draft_agreement"] = agreement_in_state(app, ids["draft"], "draft")
    agreement_in_state(app, ids["other"], "active")
    ids["today"] = today
    return ids


def _items(app: Any, today: Any, scope: Any = None) -> dict[str, list[str]]:
    from fieldapp.pwa.worklist import worklist

    with app.test_request_context():
        groups = worklist(scope, today)
        return {g.name: [i.id.split(":")[0] + ":" + i.family.split(" ")[1] for i in g.items]
                for g in groups}


def test_the_worklist_groups_what_waits_by_community(app, world):
    items = _items(app, world["today"])
    assert items["Aguas Verdes"] == ["visit:Huamán", "benefits:Huamán", "renewal:Huamán",
                                     "draft:Tuanama", "consent:Tuanama"]
    assert items["Bellavista"] == ["visit:Pinedo", "benefits:Pinedo", "renewal:Pinedo"]


def test_the_home_page_shows_my_communities_worklist_first(app, world):
    staff = login(app, "field_staff", communities=("C001",))
    page = staff.get("/", headers=EN).get_data(as_text=True)
    assert page.index('id="worklist"') < page.index('class="tiles"')
    assert "Aguas Verdes" in page
    assert "Bellavista" not in page
    assert "Pinedo" not in page
    assert f'href="/compliance/visits/new?family={world["active"]}"' in page
    assert f'href="/agreements/{world["draft_agreement"]}/sign"' in page
    assert f'href="/families/{world["draft"]}/edit"' in page
    stored = staff.get("/pwa/worklist", headers=EN).get_json()
    assert stored["user"] == "cycle-field-staff"
    [group] = stored["groups"]
    kinds = [i["kind"] for i in group["items"]]
    # (The agreement ends on END: "to renew" depends on today's date; tested above.)
    assert [k for k in kinds if k != "renewal"] == ["visit", "benefits", "draft", "consent"]
    visit = group["items"][0]
    assert visit["match"] == {"kind": "visit", "family": str(world["active"])}
    assert stored["labels"]["visit"] == "Visit due"


def test_an_item_is_gone_once_done(app, world):
    from fieldapp.compliance.operations import record_visit, visit_agreement
    from fieldapp.families.models import Family

    today = world["today"]
    with app.test_request_context():
        family = db.session.get(Family, world["active"])
        record_visit(family, visit_agreement(family.id),
                     {"visited_on": START + timedelta(days=300), "monitor_name": "Nilda"})
        db.session.get(Family, world["draft"]).data_consent = True
        db.session.commit()
    items = _items(app, today)
    assert "visit:Huamán" not in items["Aguas Verdes"]
    assert "consent:Tuanama" not in items["Aguas Verdes"]
    # A visit older than the program's interval makes it due again.
    app.config["VISIT_INTERVAL_DAYS"] = 30
    assert "visit:Huamán" in _items(app, today)["Aguas Verdes"]


def test_an_alert_to_verify_is_on_the_worklist_until_answered(app, world):
    from fieldapp.compliance.operations import record_visit, visit_agreement
    from fieldapp.families.models import Family
    from fieldapp.plots.alerts import answer_alert, import_alerts
    from fieldapp.plots.models import AlertCheck
    from fieldapp.plots.operations import create_plot

    day = START + timedelta(days=100)
    with app.test_request_context():
        family = db.session.get(Family, world["active"])
        create_plot(family, {"name": "Chacra", "method": "geojson", "boundary": [
            [-77.0, -6.0], [-76.999, -6.0], [-76.999, -5.999], [-77.0, -5.999]]})
        import_alerts(f"lat,lon,date\n-5.9995,-76.9995,{day}\n".encode(), "glad.csv")
        db.session.commit()
    assert _items(app, world["today"])["Aguas Verdes"][0] == "alert:Huamán"
    with app.test_request_context():
        family = db.session.get(Family, world["active"])
        record_visit(family, visit_agreement(family.id), {"visited_on": day,
                                                          "monitor_name": "Nilda"})
        check = db.session.execute(db.select(AlertCheck)).scalar_one()
        answer_alert(check, {"answer": "false_alarm", "visited_on": day})
        db.session.commit()
    assert "alert:Huamán" not in _items(app, world["today"])["Aguas Verdes"]



def test_past_the_cap_a_communitys_items_of_a_kind_are_counted_not_listed(
        app, world, monkeypatch):
    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family
    from fieldapp.pwa import worklist

    with app.test_request_context():
        community = db.session.execute(db.select(Community).filter_by(code="C001")).scalar_one()
        for surname in ("Vasquez", "Yupanqui"):
            create_family({"head_given_names": "Rosa", "head_surname": surname,
                           "members_count": 2, "community_id": community.id,
                           "data_consent": False, "confirm_not_duplicate": True})
        db.session.commit()
    # 12 items in all: two per kind for one community, one per kind for two.
    monkeypatch.setattr(worklist, "MAX_ITEMS", 12)
    whole = _items(app, world["today"])
    assert [i for i in whole["Aguas Verdes"] if i.startswith("consent:")] == ["consent:Tuanama"]
    staff = login(app, "field_staff", communities=("C001",))
    stored = staff.get("/pwa/worklist", headers=EN).get_json()
    [group] = stored["groups"]
    consent = [i["family"].split(" ")[1] for i in group["items"] if i["kind"] == "consent"]
    assert consent == ["Tuanama", "Vasquez"]
    assert group["more"] == {"consent": 1}
    assert stored["more_text"] == "and {n} more: {kind}"
    page = staff.get("/", headers=EN).get_data(as_text=True)
    assert "and 1 more: No data-use consent" in page
    assert "Yupanqui" not in page
    with app.test_request_context():
        groups = {g.name: g for g in worklist.worklist(None, world["today"])}
    assert groups["Aguas Verdes"].more == {"consent": 2}
    assert groups["Bellavista"].more == {}


@pytest.mark.postgres
def test_postgresql_gives_the_same_worklist(app_factory, pg_url, tmp_path, monkeypatch):
    """The demo program on a SQLite and a PostgreSQL central: the same items, in the same
    order, with the same counts past the cap (ranked and compared in each database)."""
    from fieldapp import create_app
    from fieldapp.demo.generator import generate
    from fieldapp.pwa import worklist as module
    from fieldapp.pwa.worklist import worklist, worklist_json

    monkeypatch.setattr(module, "MAX_ITEMS", 60)  # a few of each kind per community

    def items(app: Any) -> list[Any]:
        with app.test_request_context():
            generate(scale=0.05, seed=7)
            db.session.commit()
            body = worklist_json(worklist(None, START + timedelta(days=340)))
            db.session.remove()
        return [(g["name"], g["more"], [(i["kind"], i["family"], i["detail"], i["due"])
                                        for i in g["items"]]) for g in body["groups"]]

    config = {"NODE_ID": "00000000-0000-0000-0000-00000000cafe", "NODE_CODE": "TST"}
    sqlite = items(app_factory(ROLE="central", **config))
    pg = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "pg"), "SECRET_KEY": "x",
                     "AUTO_MIGRATE": True, "ROLE": "central", "SQLALCHEMY_DATABASE_URI": pg_url,
                     **config})
    try:
        assert items(pg) == sqlite
    finally:
        with pg.app_context():
            db.engine.dispose()
    kinds = {kind for _name, _more, listed in sqlite for kind, *_rest in listed}
    assert {"alert", "visit", "benefits", "draft"} <= kinds
    assert any(more for _name, more, _listed in sqlite)
