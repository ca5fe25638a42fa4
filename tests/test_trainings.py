"""Training sessions and attendance through HTTP: create, tick families, unique per session and
family, removal of only what was shown, double submits, the family's attendance rate."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from cyclekit import login
from sqlalchemy import func, select

from fieldapp.extensions import db

JSON = {"Accept": "application/json"}


@pytest.fixture
def community(make_community):
    return make_community(code="C100", name="Santa Rosa")


@pytest.fixture
def families(make_family, community):
    names = [("Rosa", "Tapullima Sangama"), ("José", "Chuquizuta Díaz"), ("Ángel", "Vela Ríos")]
    return [make_family(community_id=community, head_given_names=g, head_surname=s)
            for g, s in names]


@pytest.fixture
def staff(app):
    return login(app, "field_staff")


def _session(client, community, **overrides) -> uuid.UUID:
    data = {"held_on": "2026-03-10", "topic": "Poda de café", "community_id": str(community),
            "trainer_name": "Wilmer Tuanama", "place": "Local comunal", "duration_hours": "3",
            "idempotency_key": str(uuid.uuid4())}
    data.update(overrides)
    r = client.post("/trainings/new", data=data, headers=JSON)
    assert r.status_code == 201, r.get_data(as_text=True)
    return uuid.UUID(r.get_json()["id"])


def _present(app, session_id) -> dict:
    from fieldapp.trainings.models import Attendance

    with app.app_context():
        rows = db.session.execute(select(Attendance).where(Attendance.session_id == session_id))
        return {a.family_id: (a.voided, a.attendee_name) for a in rows.scalars()}


def test_create_session_and_tick_attendance(app, staff, community, families):
    page = staff.get(f"/trainings/new?community={community}").get_data(as_text=True)
    assert "Nueva capacitación" in page
    session_id = _session(staff, community)
    sheet = staff.get(f"/trainings/{session_id}").get_data(as_text=True)
    assert 'data-outbox="attendance"' in sheet
    assert "attendance.js" in sheet
    assert "Tapullima Sangama" in sheet
    assert "Vela Ríos" in sheet
    r = staff.post(f"/trainings/{session_id}/attendance", data={
        "family": [str(families[0]), str(families[2])],
        f"name-{families[2]}": "Lucía Vela", "shown": "",
        "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 302
    assert _present(app, session_id) == {families[0]: (False, None),
                                         families[2]: (False, "Lucía Vela")}
    sheet = staff.get(f"/trainings/{session_id}").get_data(as_text=True)
    assert sheet.count("checked") == 2
    assert "2 presentes de 3" in " ".join(sheet.split()).replace("</span>", "")
    listing = staff.get("/trainings/").get_data(as_text=True)
    assert "Poda de café" in listing
    assert "2 familias" in listing


def test_attendance_double_submit_and_uniqueness(app, staff, community, families):
    session_id = _session(staff, community)
    data = {"family": [str(families[1])], "shown": "", "idempotency_key": str(uuid.uuid4())}
    first = staff.post(f"/trainings/{session_id}/attendance", data=data, headers=JSON)
    second = staff.post(f"/trainings/{session_id}/attendance", data=data, headers=JSON)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json() == {"id": str(session_id), "url": f"/trainings/{session_id}"}
    # Another tablet ticks the same family again with its own key: still one row.
    third = staff.post(f"/trainings/{session_id}/attendance",
                       data={**data, "idempotency_key": str(uuid.uuid4())}, headers=JSON)
    assert third.status_code == 201
    assert list(_present(app, session_id)) == [families[1]]


def test_unticking_removes_only_what_was_shown(app, staff, community, families):
    session_id = _session(staff, community)
    staff.post(f"/trainings/{session_id}/attendance", data={
        "family": [str(families[0]), str(families[1])], "shown": "",
        "idempotency_key": str(uuid.uuid4())})
    # Tablet B saw only family 0 ticked and unticks it; family 1 (ticked elsewhere) stays.
    r = staff.post(f"/trainings/{session_id}/attendance", data={
        "family": [str(families[2])], "shown": str(families[0]),
        "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 302
    state = _present(app, session_id)
    assert state[families[0]][0] is True  # voided, not deleted
    assert state[families[1]] == (False, None)
    assert state[families[2]] == (False, None)
    # Ticking it again brings the same row back (unique per session and family).
    staff.post(f"/trainings/{session_id}/attendance", data={
        "family": [str(families[0])], "shown": "", "idempotency_key": str(uuid.uuid4())})
    assert _present(app, session_id)[families[0]][0] is False
    with app.app_context():
        from fieldapp.audit.models import AuditEntry

        actions = db.session.execute(
            select(AuditEntry.action).where(AuditEntry.family_id == families[0])
            .order_by(AuditEntry.at)).scalars().all()
    assert actions[-3:] == ["attendance:add", "attendance:remove", "attendance:add"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"held_on": ""}, "held_on"), ({"topic": ""}, "topic"), ({"duration_hours": "30"},
     "duration_hours"), ({"community_id": str(uuid.UUID(int=5))}, "community_id")],
)
def test_bad_session_is_refused(app, staff, community, overrides, field):
    data = {"held_on": "2026-03-10", "topic": "Poda", "community_id": str(community),
            "trainer_name": "W", "duration_hours": "3", **overrides}
    r = staff.post("/trainings/new", data=data, headers=JSON)
    assert r.status_code == 422
    assert field in r.get_json()["error"]["details"]["fields"]
    assert staff.post("/trainings/new", data=data).status_code == 422


def test_attendance_refused_for_future_session_and_unknown_family(app, staff, community,
                                                                  families):
    from fieldapp.submissions import local_today

    with app.test_request_context():
        tomorrow = local_today() + timedelta(days=1)
    future = _session(staff, community, held_on=tomorrow.isoformat())
    r = staff.post(f"/trainings/{future}/attendance",
                   data={"family": [str(families[0])], "shown": ""}, headers=JSON)
    assert r.status_code == 422
    session_id = _session(staff, community)
    r = staff.post(f"/trainings/{session_id}/attendance",
                   data={"family": [str(uuid.UUID(int=9))], "shown": ""})
    assert r.status_code == 422
    assert "no están registradas" in r.get_data(as_text=True)
    r = staff.post(f"/trainings/{session_id}/attendance", data={"family": ["junk"]})
    assert r.status_code == 400
    with app.app_context():
        from fieldapp.trainings.models import Attendance

        assert db.session.scalar(select(func.count(Attendance.id))) == 0


def test_family_page_shows_attendance_rate(app, staff, community, families):
    from fieldapp.submissions import local_today

    with app.test_request_context():
        today = local_today().isoformat()
    # Sessions held before the family registered do not count; these are held today.
    _session(staff, community, topic="Antes del registro", held_on="2020-01-10")
    sessions = [_session(staff, community, topic=f"Tema {i}", held_on=today) for i in range(4)]
    for session_id in sessions[:3]:
        staff.post(f"/trainings/{session_id}/attendance",
                   data={"family": [str(families[0])], "shown": ""})
    page = staff.get(f"/families/{families[0]}").get_data(as_text=True)
    assert "75 %" in page
    assert "asistió a 3 de 4 capacitaciones" in page
    other = staff.get(f"/families/{families[1]}").get_data(as_text=True)
    assert "0 %" in other


def test_registration_day_is_the_day_in_peru_not_in_utc(app, staff, community, families):
    """A family registered at 22:00 in Peru (03:00 the next day in UTC) was registered that
    day: a session held that day counts for it, one held the day before does not."""
    from datetime import UTC, datetime

    from fieldapp.families.models import Family

    with app.app_context():
        family = db.session.get(Family, families[0])
        family.created_at = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # 10 March, 22:00 in Lima
        db.session.commit()
    _session(staff, community, topic="La víspera", held_on="2026-03-09")
    same_day = _session(staff, community, topic="El mismo día", held_on="2026-03-10")
    _session(staff, community, topic="También ese día", held_on="2026-03-10")
    staff.post(f"/trainings/{same_day}/attendance",
               data={"family": [str(families[0])], "shown": ""})
    page = staff.get(f"/families/{families[0]}").get_data(as_text=True)
    assert "asistió a 1 de 2 capacitaciones" in page


def test_field_staff_limited_to_their_communities(app, make_community, families, community):
    make_community(code="C200", name="Otra")
    outsider = login(app, "field_staff", "outsider", communities=("C200",))
    coordinator = login(app, "coordinator")
    session_id = _session(coordinator, community)
    assert outsider.get(f"/trainings/{session_id}").status_code == 403
    r = outsider.post(f"/trainings/{session_id}/attendance",
                      data={"family": [str(families[0])], "shown": ""})
    assert r.status_code == 403
    r = outsider.post("/trainings/new", data={
        "held_on": "2026-03-10", "topic": "x", "community_id": str(community),
        "trainer_name": "W", "duration_hours": "2"})
    assert r.status_code == 422  # not among the choices a field worker is offered
    assert "Santa Rosa" not in outsider.get("/trainings/").get_data(as_text=True)


def test_training_pages_in_english(app, staff, community, families):
    session_id = _session(staff, community)
    staff.post("/auth/language/en", data={"next": "/"})
    page = staff.get(f"/trainings/{session_id}").get_data(as_text=True)
    assert "Save attendance" in page
    assert "Search by name, code or DNI" in page


def test_attendance_for_a_family_of_another_community_is_refused(app, make_community, make_family,
                                                                 community, families):
    """Staff limited to C100 send, by hand, the id of a C200 family for a C100 session: refused
    (out_of_scope), nothing written, and the sheet does not show that family."""
    other = make_community(code="C200", name="Otra")
    stranger = make_family(community_id=other, head_given_names="Zoila",
                           head_surname="Ajena Lejos", dni="44556677")
    staff = login(app, "field_staff", "c100-staff", communities=("C100",))
    session_id = _session(staff, community)
    r = staff.post(f"/trainings/{session_id}/attendance", headers=JSON, data={
        "family": [str(families[0]), str(stranger)], "shown": "",
        "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "out_of_scope"
    assert _present(app, session_id) == {}
    sheet = staff.get(f"/trainings/{session_id}").get_data(as_text=True)
    assert "Ajena Lejos" not in sheet
    assert "44556677" not in sheet
    # Unticking a family of another community (sent as "shown") is refused too.
    coordinator = login(app, "coordinator")
    r = coordinator.post(f"/trainings/{session_id}/attendance", headers=JSON, data={
        "family": [str(stranger)], "shown": "", "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 201
    r = staff.post(f"/trainings/{session_id}/attendance", headers=JSON, data={
        "shown": str(stranger), "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 403
    assert _present(app, session_id) == {stranger: (False, None)}
    # Left as the coordinator ticked it, it does not block the staff's own families.
    r = staff.post(f"/trainings/{session_id}/attendance", headers=JSON, data={
        "family": [str(stranger), str(families[1])], "shown": str(stranger),
        "idempotency_key": str(uuid.uuid4())})
    assert r.status_code == 201
    assert _present(app, session_id) == {stranger: (False, None), families[1]: (False, None)}


def test_every_write_operation_checks_the_users_communities(app, make_community, make_family,
                                                            community, families):
    """The operations themselves refuse a family of another community (not only the views)."""
    from flask_login import login_user

    from fieldapp.agreements.operations import create_agreement
    from fieldapp.auth.models import User
    from fieldapp.deliveries.operations import record_delivery
    from fieldapp.errors import OutOfScope
    from fieldapp.families.models import Family
    from fieldapp.families.operations import update_family
    from fieldapp.trainings.operations import create_session

    other = make_community(code="C200", name="Otra")
    stranger = make_family(community_id=other)
    login(app, "field_staff", "c100-staff", communities=("C100",))
    with app.test_request_context():
        user = db.session.execute(select(User).where(User.username == "c100-staff")).scalar_one()
        login_user(user)
        family = db.session.get(Family, stranger)
        mine = db.session.get(Family, families[0])
        calls = [
            lambda: update_family(family, {"community_id": other, "head_given_names": "A",
                                           "head_surname": "B", "members_count": 2}),
            lambda: update_family(mine, {"community_id": other, "head_given_names": "A",
                                         "head_surname": "B", "members_count": 2}),
            lambda: record_delivery(family, {}),
            lambda: create_agreement(family, {}),
            lambda: create_session({"held_on": __import__("datetime").date(2026, 3, 1),
                                    "community_id": other, "duration_hours": 2}),
        ]
        for call in calls:
            with pytest.raises(OutOfScope):
                call()
            db.session.rollback()
