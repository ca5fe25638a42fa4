"""Grievances sync like the rest of a family's records, except confidential ones: those travel
up from the node that recorded them and central never sends them, or their steps, to any node
(``TableSpec.withhold``), on both backends. Their steps follow the workflow from central's
status, and a node can neither delete a grievance nor change whether it is confidential."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from synckit import last_insert, login, push

from fieldapp.grievances.models import Grievance, GrievanceStep

SECRET = "El promotor cobró por la entrega de plantones."

def _today() -> date:
    """Today where the program works (Lima): the day the app checks "not in the future" by."""
    return datetime.now(ZoneInfo("America/Lima")).date()



def _record(client, family, **fields) -> str:
    data = {"received_on": _today().isoformat(), "channel": "phone",
            "category": "benefit_not_received", "description": "No llegaron las cocinas.",
            "idempotency_key": str(uuid.uuid4()), **fields}
    response = client.post(f"/grievances/new?family={family}", data=data,
                           headers={"Accept": "application/json"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


def _confidential(client, family) -> str:
    return _record(client, family, category="staff_conduct", confidential="y",
                   staff_name="Pedro Ruiz", description=SECRET)


def test_confidential_grievances_never_reach_a_node(world):
    central, a, b, c1 = world["central"], world["a"], world["b"], world["c1"]
    family = a.add_family(c1)
    a.sync()
    b.sync()
    on_a = login(a.app, "coordinator")
    ordinary = _record(on_a, family)
    secret = _confidential(on_a, family)
    assert on_a.post(f"/grievances/{ordinary}/step", data={"action": "acknowledge"}
                     ).status_code == 302
    report = a.sync()
    assert report.rejected == 0
    # Both went up, with their steps.
    assert central.get(Grievance, uuid.UUID(secret))["description"] == SECRET
    assert central.get(Grievance, uuid.UUID(ordinary))["status"] == "acknowledged"
    assert central.count(GrievanceStep, GrievanceStep.confidential.is_(True)) == 1
    # On central, a coordinator records another confidential one and takes a step on each.
    on_central = login(central.app, "coordinator")
    central_secret = _confidential(on_central, family)
    for gid in (secret, central_secret):
        assert on_central.post(f"/grievances/{gid}/step", data={"action": "acknowledge"}
                               ).status_code == 302
    b.sync()
    a.sync()
    # Node B, serving the same community, has the ordinary grievance and none of the others.
    assert b.get(Grievance, uuid.UUID(ordinary))["status"] == "acknowledged"
    assert b.count(Grievance) == 1
    assert b.count(GrievanceStep) == 2
    assert b.count(GrievanceStep, GrievanceStep.confidential.is_(True)) == 0
    # Node A keeps its own, as it recorded it; central's steps and central's own never reach it.
    assert a.get(Grievance, uuid.UUID(secret))["status"] == "received"
    assert a.get(Grievance, uuid.UUID(central_secret)) is None
    # In the pull pages themselves, read from the start.
    link = b.transport()
    try:
        cursor, pages = 0, []
        while True:
            page = link.post("/pull", {"cursor": cursor, "limit": 5})
            pages.append(page)
            cursor = page["c"]
            if not page["m"]:
                break
    finally:
        link.close()
    text = json.dumps(pages, ensure_ascii=False)
    assert SECRET not in text
    assert "Pedro Ruiz" not in text
    assert secret not in text
    assert central_secret not in text
    assert ordinary in text


def test_a_node_follows_the_workflow_and_deletes_nothing(world):
    central, a, c1 = world["central"], world["a"], world["c1"]
    family = a.add_family(c1)
    a.sync()
    on_a = login(a.app, "coordinator")
    gid = _record(on_a, family)
    secret = _confidential(on_a, family)
    insert = last_insert(a, "grievances")
    a.sync()
    # A page built by hand: a step that skips the workflow, a confidential flag dropped, a
    # grievance deleted, a new one that arrives already answered; and a legal step.
    answered = {**insert["d"], "id": str(uuid.uuid4()), "code": "AM-G-AAA-0099",
                "status": "answered", "status_token": uuid.uuid4().hex}
    codes = push(
        a,
        {"t": "grievances", "i": gid, "o": "u", "d": {"status": "answered"},
         "p": {"status": "received"}},
        {"t": "grievances", "i": secret, "o": "u", "d": {"confidential": False},
         "p": {"confidential": True}},
        {"t": "grievances", "i": gid, "o": "d"},
        {**insert, "i": answered["id"], "d": answered},
        {"t": "grievances", "i": gid, "o": "u", "d": {"status": "closed"},
         "p": {"status": "received"}},
    )
    assert codes == ["grievance_transition", "grievance_kept", "grievance_kept",
                     "grievance_transition", ""]
    assert central.get(Grievance, uuid.UUID(gid))["status"] == "closed"  # received → closed
    assert central.get(Grievance, uuid.UUID(secret))["confidential"] is True
    assert central.count(Grievance) == 2
