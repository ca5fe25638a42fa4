"""Communities: list with family counts, creation and editing by coordinators."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.communities.models import Community
from fieldapp.extensions import db


def test_list_shows_family_counts(client, auth, make_family, make_community):
    community_id = make_community(name="Aguas Claras")
    make_family(community_id=community_id)
    make_family(community_id=community_id, dni="12345678")
    auth.login()
    html = client.get("/communities/").get_data(as_text=True)
    assert "Aguas Claras" in html
    assert '<td class="num">2</td>' in html


def test_coordinator_creates_and_edits_a_community(client, auth, app):
    auth.login("coordinator")
    response = client.post("/communities/new", data={
        "code": "C050", "name": "Salas", "district": "Soritor", "lat": "-5.9", "lon": "-77.4"})
    assert response.status_code == 302
    with app.app_context():
        community = db.session.execute(select(Community)).scalar_one()
        assert (community.code, community.district, community.lat) == ("C050", "Soritor", -5.9)
        community_id = community.id
    response = client.post(f"/communities/{community_id}/edit",
                           data={"code": "C050", "name": "Salas Alto"})
    assert response.status_code == 302
    with app.app_context():
        community = db.session.get(Community, community_id)
        assert community.name == "Salas Alto"
        assert community.version == 2


def test_community_code_must_be_unique(client, auth, make_community):
    make_community(code="C001")
    auth.login("coordinator")
    response = client.post("/communities/new", data={"code": "C001", "name": "Otra"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Otra comunidad ya usa este código." in html
    assert 'value="Otra"' in html
