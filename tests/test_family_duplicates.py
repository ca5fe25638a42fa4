"""Families registered twice: the form's warning, the coordinators' review, merges."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.families.models import Family

JSON = {"Accept": "application/json"}


def _form(community_id, **overrides):
    data = {
        "community_id": str(community_id),
        "head_given_names": "María",
        "head_surname": "Tuanama Huaman",
        "members_count": "4",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def test_form_warns_of_a_possible_duplicate_and_saves_once_confirmed(app, client, auth,
                                                                     make_community,
                                                                     make_family):
    village = make_community(name="Aguas Verdes", lat=-5.7, lon=-77.5)
    existing = make_family(community_id=village)
    auth.login()
    form = _form(village)
    page = client.post("/families/new", data=form)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'href="/families/{existing}"' in html  # the link to open the existing family
    assert 'data-confirm="confirm_not_duplicate">' in html  # the confirm box is shown
    answer = client.post("/families/new", data=form, headers=JSON)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "possible_duplicate"
    assert error["details"]["confirm"] == "confirm_not_duplicate"  # the tablet's checkbox
    assert error["details"]["families"][0]["url"] == f"/families/{existing}"
    with app.app_context():
        assert db.session.scalar(select(Family.id).where(Family.id != existing)) is None
    ok = client.post("/families/new", data={**form, "confirm_not_duplicate": "y"},
                     headers=JSON)
    assert ok.status_code == 201
    with app.app_context():
        assert len(db.session.execute(select(Family)).all()) == 2


def test_form_does_not_warn_for_another_family(app, client, auth, make_community, make_family):
    village = make_community(lat=-5.7, lon=-77.5)
    make_family(community_id=village)
    auth.login()
    answer = client.post("/families/new", headers=JSON,
                         data=_form(village, head_given_names="Juan", head_surname="Rojas Pérez"))
    assert answer.status_code == 201


def test_form_in_spanish_warns_in_spanish(app, client, auth, make_community, make_family):
    village = make_community(lat=-5.7, lon=-77.5)
    make_family(community_id=village)
    auth.login()
    answer = client.post("/families/new", data=_form(village),
                         headers={**JSON, "Accept-Language": "es"})
    assert "ya esté registrada" in answer.get_json()["error"]["message"]


# -- review and merge on central ----------------------------------------------------------------

def _central_pair(app_factory):
    """Central with one family registered twice (A with an agreement, a delivery and two
    sessions; B with a delivery and one of A's sessions), and a third, different family."""
    from datetime import date
    from decimal import Decimal

    from cyclekit import agreement_in_state, seed

    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family
    from fieldapp.trainings.models import Attendance, TrainingSession

    central = app_factory(ROLE="central")
    seed(central)
    with central.test_request_context():
        village = Community(code="C300", name="Aguas Verdes", lat=-5.7, lon=-77.5)
        db.session.add(village)
        db.session.flush()
        a = create_family({"community_id": village.id, "head_given_names": "María",
                           "head_surname": "Huamán Tuanama", "members_count": 3,
                           "dni": "45678912"})
        b = create_family({"community_id": village.id, "head_given_names": "Maria",
                           "head_surname": "Tuanama Guaman", "members_count": 5,
                           "phone": "942123456", "confirm_not_duplicate": True})
        other = create_family({"community_id": village.id, "head_given_names": "Juan",
                               "head_surname": "Rojas Pérez", "members_count": 2})
        sessions = []
        for n in (1, 2):
            s = TrainingSession(code=f"T-{n}", held_on=date(2026, 3, n), topic="Poda",
                                community_id=village.id, trainer_name="Wilmer",
                                duration_hours=Decimal(2))
            db.session.add(s)
            sessions.append(s)
        db.session.flush()
        db.session.add_all([Attendance(session_id=sessions[0].id, family_id=a.id),
                            Attendance(session_id=sessions[1].id, family_id=a.id),
                            Attendance(session_id=sessions[0].id, family_id=b.id)])
        db.session.commit()
        ids = a.id, b.id, other.id
    agreement_in_state(central, ids[1], "active")
    return central, ids


def test_review_lists_the_pair_and_merges_into_a(app_factory):
    from cyclekit import agreement_in_state, login

    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.models import AuditEntry
    from fieldapp.trainings.models import Attendance

    central, (a, b, other) = _central_pair(app_factory)
    agreement_in_state(central, a, "active")
    with central.test_request_context():
        from datetime import date

        from fieldapp.grievances.models import Grievance
        from fieldapp.grievances.operations import record_grievance

        grievance = record_grievance({
            "family": db.session.get(Family, b), "channel": "phone", "category": "other",
            "description": "Queja de B.", "received_on": date(2026, 3, 1)}).id
        db.session.commit()
    staff = login(central, "field_staff")
    assert staff.get("/families/duplicates").status_code == 403
    coordinator = login(central, "coordinator")
    assert 'id="duplicates-link"' in coordinator.get("/families/").get_data(as_text=True)
    listing = coordinator.get("/families/duplicates", headers={"Accept-Language": "es"})
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert f"/families/duplicates/{a}/{b}" in html or f"/families/duplicates/{b}/{a}" in html
    assert str(other) not in html
    page = coordinator.get(f"/families/duplicates/{a}/{b}", headers={"Accept-Language": "es"})
    text = page.get_data(as_text=True)
    assert "Fusionar en A" in text
    assert "942123456" in text  # every field of each, side by side
    with central.app_context():  # the versions the page showed
        versions = [str(db.session.get(Family, i).version) for i in (a, b)]
    merged = coordinator.post(f"/families/duplicates/{a}/{b}", data={
        "action": "into_a", "field_phone": "b", "field_members_count": "b",
        "field_head_surname": "a", "version_a": versions[0], "version_b": versions[1]})
    assert merged.status_code == 302
    assert merged.headers["Location"] == f"/families/{a}"
    # Two agreements in force on one family: the coordinator is told, neither is voided.
    landing = coordinator.get(f"/families/{a}", headers={"Accept-Language": "es"})
    assert "acuerdos firmados o activos" in landing.get_data(as_text=True)
    with central.app_context():
        survivor, tomb = db.session.get(Family, a), db.session.get(Family, b)
        assert (survivor.phone, survivor.members_count, survivor.dni) == ("942123456", 5,
                                                                        "45678912")
        assert tomb.voided
        assert tomb.merged_into_id == a
        assert [r.family_id for r in db.session.execute(select(Agreement)).scalars()] == [a, a]
        assert not any(r.voided for r in db.session.execute(select(Agreement)).scalars())
        rows = db.session.execute(select(Attendance)).scalars().all()
        assert len(rows) == 2  # the session both attended is one row
        assert {r.family_id for r in rows} == {a}
        assert db.session.get(Grievance, grievance).family_id == a  # its grievances follow
        audit = db.session.execute(select(AuditEntry).where(
            AuditEntry.action == "merged_into")).scalar_one()
        assert audit.family_id == a
    # The tombstone's page and code lead to the survivor.
    assert coordinator.get(f"/families/{b}").headers["Location"] == f"/families/{a}"
    with central.app_context():
        code = db.session.get(Family, b).code
    assert coordinator.get(f"/families/?q={code}").headers["Location"] == f"/families/{a}"
    assert str(b) not in coordinator.get("/families/duplicates").get_data(as_text=True)


def test_a_name_alone_in_a_neighbouring_community_is_listed_apart(app_factory):
    from cyclekit import login

    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    central, (a, b, _other) = _central_pair(app_factory)
    with central.test_request_context():
        near = Community(code="C301", name="Nuevo Edén", lat=-5.72, lon=-77.51)
        db.session.add(near)
        db.session.flush()
        namesake = create_family({"community_id": near.id, "head_given_names": "Juan",
                                  "head_surname": "Rojas Peres", "members_count": 4,
                                  "confirm_not_duplicate": True}).id
        db.session.commit()
    coordinator = login(central, "coordinator")
    html = coordinator.get("/families/duplicates", headers={"Accept-Language": "es"}).get_data(
        as_text=True)
    likely, _, weak = html.partition('id="weak-pairs"')
    assert "Solo un nombre parecido en una comunidad vecina" in likely
    assert str(namesake) in weak
    assert str(namesake) not in likely
    assert str(a) in likely
    assert str(a) not in weak


def test_not_the_same_family_is_never_proposed_again(app_factory):
    from cyclekit import login

    central, (a, b, _other) = _central_pair(app_factory)
    coordinator = login(central, "coordinator")
    done = coordinator.post(f"/families/duplicates/{b}/{a}", data={"action": "distinct"})
    assert done.status_code == 302
    assert str(a) not in coordinator.get("/families/duplicates").get_data(as_text=True)
    with central.app_context():
        assert not db.session.get(Family, b).voided


@pytest.mark.parametrize("case", ["itself", "tombstone", "stale"])
def test_merge_refusals(app_factory, case):
    from cyclekit import login

    central, (a, b, other) = _central_pair(app_factory)
    coordinator = login(central, "coordinator")
    if case == "itself":
        answer = coordinator.post(f"/families/duplicates/{a}/{a}", data={"action": "into_a"})
    elif case == "tombstone":
        assert coordinator.post(f"/families/duplicates/{a}/{b}",
                                data={"action": "into_a"}).status_code == 302
        # A second coordinator's page, opened before the first merged: into the tombstone.
        answer = coordinator.post(f"/families/duplicates/{other}/{b}", data={"action": "into_b"})
    else:
        answer = coordinator.post(f"/families/duplicates/{a}/{b}", data={
            "action": "into_a", "version_a": "1", "version_b": "0"})
    assert answer.status_code == 409
    assert "fusion" in answer.get_data(as_text=True).lower() or case == "stale"
    with central.app_context():
        assert not db.session.get(Family, other).voided
        if case != "tombstone":
            assert not db.session.get(Family, b).voided


def test_cli_demo_plants_duplicates_the_review_finds(app):
    from fieldapp.families.queries import duplicate_pairs

    result = app.test_cli_runner().invoke(args=["demo", "--scale", "0.1", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "duplicates=3" in result.output
    with app.app_context():
        families = db.session.execute(select(Family).order_by(Family.code)).scalars().all()
        planted = families[-3:]  # registered last, each a second time
        pairs = {frozenset((m.a, m.b)) for m in duplicate_pairs()}
        for copy in planted:
            assert any(copy.id in pair for pair in pairs), copy.head_name


def test_withdrawal_keeps_the_history_and_leaves_the_figures(app, client, auth, make_family):
    from datetime import date

    from fieldapp.dashboard.conditions import family_conditions
    from fieldapp.dashboard.filters import Filters

    family = make_family()
    auth.login()  # field staff may not
    assert client.post(f"/families/{family}/withdraw", data={
        "reason": "moved_away", "withdrawn_on": "2026-05-02"}).status_code == 403
    auth.logout()
    auth.login("coordinator")
    bad = client.post(f"/families/{family}/withdraw", data={
        "reason": "bored", "withdrawn_on": "2026-05-02"})
    assert bad.status_code == 422
    done = client.post(f"/families/{family}/withdraw", data={
        "reason": "moved_away", "withdrawn_on": "2026-05-02"})
    assert done.status_code == 302
    page = client.get(f"/families/{family}", headers={"Accept-Language": "es"})
    assert "Se mudó" in page.get_data(as_text=True)
    with app.test_request_context():
        withdrawn = db.session.get(Family, family)
        assert (withdrawn.status, withdrawn.withdrawn_reason) == ("withdrawn", "moved_away")
        assert not withdrawn.voided  # its history stays
        counted = db.session.scalar(select(db.func.count()).select_from(Family).where(
            *family_conditions(Filters(date(2026, 1, 1), date(2026, 12, 31), date(2026, 6, 1)))))
        assert counted == 0


def test_dashboard_and_donor_summary_state_the_duplicates_merged_in_the_period(app_factory):
    import io
    from datetime import UTC, datetime

    from cyclekit import login
    from pypdf import PdfReader

    central, (a, b, _other) = _central_pair(app_factory)
    coordinator = login(central, "coordinator")
    this_year = datetime.now(UTC).year
    period = {"from": f"{this_year}-01", "to": f"{this_year}-12"}
    before = coordinator.get("/dashboard/summary.json", query_string=period).get_json()
    assert before["duplicates_merged"] == 0
    assert coordinator.post(f"/families/duplicates/{a}/{b}",
                            data={"action": "into_a"}).status_code == 302
    after = coordinator.get("/dashboard/summary.json", query_string=period).get_json()
    assert after["duplicates_merged"] == 1
    assert after["families"]["registered"] == before["families"]["registered"] - 1  # once
    earlier = {"from": f"{this_year - 1}-01", "to": f"{this_year - 1}-12"}
    assert coordinator.get("/dashboard/summary.json",
                           query_string=earlier).get_json()["duplicates_merged"] == 0
    page = coordinator.get("/dashboard/", query_string=period,
                           headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "1 familia registrada dos veces se fusionó en el período" in page
    pdf = coordinator.get("/dashboard/summary.pdf", query_string=period,
                          headers={"Accept-Language": "es"})
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.data)).pages)
                    .split())
    assert "1 familia registrada dos veces se fusionó en el período" in text


def _central_cluster(app_factory):
    """Central with one family registered three times (linked pair by pair) and the review's
    cluster page address."""
    from cyclekit import seed

    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    central = app_factory(ROLE="central")
    seed(central)
    with central.test_request_context():
        village = Community(code="C300", name="Aguas Verdes", lat=-5.7, lon=-77.5)
        db.session.add(village)
        db.session.flush()
        rows = [{"head_given_names": "María", "head_surname": "Huamán Tuanama",
                 "dni": "45678912"},
                {"head_given_names": "Maria", "head_surname": "Tuanama Guaman"},
                {"head_given_names": "María", "head_surname": "Huaman Tuanama",
                 "phone": "942123456"}]
        ids = [create_family({"community_id": village.id, "members_count": 3,
                              "confirm_not_duplicate": True, **row}).id for row in rows]
        db.session.commit()
    return central, ids


def test_three_registrations_of_one_family_are_reviewed_together_and_merged(app_factory):
    from cyclekit import login

    central, ids = _central_cluster(app_factory)
    coordinator = login(central, "coordinator")
    listing = coordinator.get("/families/duplicates", headers={"Accept-Language": "es"})
    html = listing.get_data(as_text=True)
    assert 'data-families="3"' in html  # one cluster, not three separate pairs
    assert "3 familias relacionadas" in html
    link = html.split('data-families="3"')[1].split('href="/families/duplicates/cluster?')[1]
    query = link.split('"')[0].replace("&amp;", "&")
    assert sorted(v.split("=")[1] for v in query.split("&")) == sorted(map(str, ids))
    page = coordinator.get(f"/families/duplicates/cluster?{query}",
                           headers={"Accept-Language": "es"})
    assert page.status_code == 200
    assert "Fusionar en C" in page.get_data(as_text=True)
    order = [uuid.UUID(v.split("=")[1]) for v in query.split("&")]
    with central.app_context():
        versions = {f"version_{n}": str(db.session.get(Family, i).version)
                    for n, i in enumerate(order)}
    dni_holder = order.index(ids[0])
    phone_holder = order.index(ids[2])
    survivor = order[1]
    done = coordinator.post(f"/families/duplicates/cluster?{query}", data={
        "action": "into_1", "include_0": "y", "include_2": "y",
        "field_dni": str(dni_holder), "field_phone": str(phone_holder), **versions})
    assert done.status_code == 302
    assert done.headers["Location"] == f"/families/{survivor}"
    with central.app_context():
        kept = db.session.get(Family, survivor)
        assert (kept.dni, kept.phone, kept.voided) == ("45678912", "942123456", False)
        for other in order:
            if other != survivor:
                assert db.session.get(Family, other).merged_into_id == survivor
    assert "cluster" not in coordinator.get("/families/duplicates").get_data(as_text=True)


def test_cluster_page_refusals_and_all_different(app_factory):
    from cyclekit import login

    central, ids = _central_cluster(app_factory)
    coordinator = login(central, "coordinator")
    query = "&".join(f"f={i}" for i in ids)
    assert coordinator.get(f"/families/duplicates/cluster?f={ids[0]}").status_code == 422
    assert coordinator.get("/families/duplicates/cluster?f=nonsense&f=x").status_code == 422
    assert coordinator.get(f"/families/duplicates/cluster?{query}&f={uuid.uuid4()}"
                           ).status_code == 404
    nobody = coordinator.post(f"/families/duplicates/cluster?{query}", data={"action": "into_0"})
    assert nobody.status_code == 409  # no other family ticked
    stale = coordinator.post(f"/families/duplicates/cluster?{query}", data={
        "action": "into_0", "include_1": "y", "version_0": "1", "version_1": "0",
        "version_2": "1"})
    assert stale.status_code == 409
    with central.app_context():
        assert not any(db.session.get(Family, i).voided for i in ids)
    done = coordinator.post(f"/families/duplicates/cluster?{query}", data={"action": "distinct"})
    assert done.status_code == 302
    listing = coordinator.get("/families/duplicates").get_data(as_text=True)
    assert not any(str(i) in listing for i in ids)


def _merged_central(app_factory):
    from cyclekit import login

    from fieldapp.trainings.models import Attendance

    central, (a, b, other) = _central_pair(app_factory)
    coordinator = login(central, "coordinator")
    with central.app_context():
        before = {r.id: (r.session_id, r.family_id, r.voided)
                  for r in db.session.execute(select(Attendance)).scalars()}
    assert coordinator.post(f"/families/duplicates/{a}/{b}", data={
        "action": "into_a", "field_phone": "b", "field_members_count": "b"}).status_code == 302
    return central, coordinator, (a, b, other), before


def test_a_merge_is_undone_while_nothing_new_was_recorded_on_the_survivor(app_factory):
    from cyclekit import login

    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.models import AuditEntry
    from fieldapp.trainings.models import Attendance

    central, coordinator, (a, b, _other), attendance = _merged_central(app_factory)
    page = coordinator.get(f"/families/{a}", headers={"Accept-Language": "es"})
    assert "Deshacer esta fusión" in page.get_data(as_text=True)
    staff = login(central, "field_staff")
    assert staff.post(f"/families/duplicates/{b}/undo").status_code == 403
    assert "Deshacer" not in staff.get(f"/families/{a}").get_data(as_text=True)
    undone = coordinator.post(f"/families/duplicates/{b}/undo")
    assert undone.status_code == 302
    assert undone.headers["Location"] == f"/families/{b}"
    with central.app_context():
        survivor, back = db.session.get(Family, a), db.session.get(Family, b)
        assert (survivor.phone, survivor.members_count, survivor.dni) == (None, 3, "45678912")
        assert (back.voided, back.merged_into_id, back.phone) == (False, None, "942123456")
        assert [r.family_id for r in db.session.execute(select(Agreement)).scalars()] == [b]
        now = {r.id: (r.session_id, r.family_id, r.voided)
               for r in db.session.execute(select(Attendance)).scalars()}
        assert now == attendance  # the session both attended: two rows again
        actions = set(db.session.execute(select(AuditEntry.action)).scalars())
        assert {"unmerge", "unmerged"} <= actions
    assert coordinator.post(f"/families/duplicates/{b}/undo").status_code == 409  # once
    listing = coordinator.get("/families/duplicates").get_data(as_text=True)
    assert str(b) in listing  # proposed again, to decide anew


def test_a_merge_is_final_once_something_was_recorded_on_the_survivor(app_factory):
    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.models import Sanction

    central, coordinator, (a, b, _other), _attendance = _merged_central(app_factory)
    with central.test_request_context():  # a sanction proposed for the survivor since
        agreement = db.session.execute(select(Agreement.id).where(
            Agreement.family_id == a)).scalars().first()
        db.session.add(Sanction(family_id=a, agreement_id=agreement, level="warning",
                                status="proposed", reason="Quema"))
        db.session.commit()
    page = coordinator.get(f"/families/{a}", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert "Deshacer esta fusión" not in html
    assert "Separe la familia a mano" in html
    refused = coordinator.post(f"/families/duplicates/{b}/undo",
                               headers={"Accept-Language": "es"})
    assert refused.status_code == 409
    assert "Separe la familia a mano" in refused.get_data(as_text=True)
    with central.app_context():
        assert db.session.get(Family, b).merged_into_id == a
