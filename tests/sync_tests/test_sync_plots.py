"""Plots sync in their family's community with their boundary history, on both backends: a
re-walk made offline on two nodes keeps both boundaries (the plot's own columns conflict for a
coordinator), and central refuses a pushed plot whose boundary breaks the rules or whose area
is not its boundary's."""

from __future__ import annotations

import json
import uuid

from synckit import assert_converged, last_insert, login, push

from fieldapp.plots.models import Plot, PlotBoundary

EN = {"Accept": "application/json", "Accept-Language": "en"}


def _square(side: float = 0.001) -> str:
    ring = [[-77.0, -6.0], [-77.0 + side, -6.0], [-77.0 + side, -6.0 + side],
            [-77.0, -6.0 + side]]
    return json.dumps(ring)


def _new_plot(client, family, side: float = 0.001) -> str:
    response = client.post(f"/plots/new?family={family}", headers=EN, data={
        "name": "Chacra", "declared_ha": "1.2", "boundary": _square(side), "method": "walk",
        "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


def _rewalk(client, plot_id: str, side: float) -> None:
    response = client.post(f"/plots/{plot_id}/edit", headers=EN, data={
        "name": "Chacra", "declared_ha": "1.2", "boundary": _square(side), "method": "walk"})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_two_offline_rewalks_keep_both_boundaries(world):
    central, a, b, c1 = world["central"], world["a"], world["b"], world["c1"]
    family = a.add_family(c1)
    plot_id = _new_plot(login(a.app, "field_staff"), family)
    assert a.sync().rejected == 0
    b.sync()
    assert b.get(Plot, uuid.UUID(plot_id))["area_ha"] > 1.2
    assert_converged(central, b, ("plots", "plot_boundaries"))
    # Both nodes walk the plot again before either syncs.
    _rewalk(login(a.app, "field_staff"), plot_id, 0.0011)
    _rewalk(login(b.app, "field_staff"), plot_id, 0.0012)
    assert a.sync().rejected == 0
    assert b.sync().rejected == 0
    a.sync()
    # Every boundary walked is kept on central and on both nodes.
    assert central.count(PlotBoundary) == 3
    assert a.count(PlotBoundary) == b.count(PlotBoundary) == 3
    # The plot's current boundary is not silently overwritten: a conflict for a coordinator.
    fields = {c["field"] for c in central.rows(central.state.tables.conflicts).values()
              if c["table_name"] == "plots" and c["status"] == "open"}
    assert "boundary" in fields


def test_central_refuses_a_bad_boundary_and_a_forged_area(world):
    central, a, c1 = world["central"], world["a"], world["c1"]
    family = a.add_family(c1)
    _new_plot(login(a.app, "field_staff"), family)
    insert = last_insert(a, "plots")
    assert a.sync().rejected == 0
    swapped = {"type": "Polygon", "coordinates": [[[-6.0, -77.0], [-6.0, -76.99],
                                                   [-5.99, -76.99], [-6.0, -77.0]]]}
    bad_shape = {**insert["d"], "id": str(uuid.uuid4()), "boundary": swapped}
    forged = {**insert["d"], "id": str(uuid.uuid4()), "area_ha": 50.0}
    codes = push(a, {**insert, "i": bad_shape["id"], "d": bad_shape},
                 {**insert, "i": forged["id"], "d": forged},
                 {"t": "plots", "i": insert["i"], "o": "u", "d": {"area_ha": 0.5},
                  "p": {"area_ha": insert["d"]["area_ha"]}})
    assert codes == ["invalid", "area_mismatch", "area_mismatch"]
    assert central.count(Plot) == 1


def test_an_alert_to_verify_reaches_the_community_and_its_answer_comes_back(world):
    from datetime import date

    from synckit import signed_agreement

    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.models import Sanction
    from fieldapp.extensions import db
    from fieldapp.plots.alerts import import_alerts
    from fieldapp.plots.models import AlertCheck

    central, a, b, c1 = world["central"], world["a"], world["b"], world["c1"]
    family = a.add_family(c1)
    agreement = signed_agreement(a, family, "AM-2026-AAA-0001")
    a.edit(Agreement, agreement, status="active")
    _new_plot(login(a.app, "field_staff"), family)
    assert a.sync().rejected == 0
    with central.app.app_context():
        report = import_alerts(b"lat,lon,date\n-5.9995,-76.9995,2026-03-01\n", "glad.csv")
        db.session.commit()
    assert report.checks == 1
    a.sync()
    b.sync()
    [check_id] = b.rows(AlertCheck)
    assert a.get(AlertCheck, check_id)["status"] == "open"
    # Node A's promotor visits and answers: clearing confirmed.
    with a.app.test_request_context():
        from fieldapp.compliance.operations import record_visit
        from fieldapp.families.models import Family

        visit = record_visit(db.session.get(Family, family), db.session.get(Agreement, agreement),
                             {"visited_on": date(2026, 3, 10), "monitor_name": "Nilda"})
        db.session.commit()
        visit_id = visit.id
    answer = login(a.app, "field_staff").post(f"/plots/alerts/{check_id}", headers=EN, data={
        "visited_on": "2026-03-10", "answer": "confirmed", "cleared_ha": "0.3"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert a.sync().rejected == 0
    on_central = central.get(AlertCheck, check_id)
    assert (on_central["status"], on_central["answer"], on_central["cleared_ha"]) == (
        "answered", "confirmed", 0.3)
    assert on_central["visit_id"] == visit_id
    assert central.count(Sanction, Sanction.status == "proposed") == 1
    b.sync()
    assert b.get(AlertCheck, check_id)["answer"] == "confirmed"
    # A node neither makes alerts to verify nor changes what central made.
    codes = push(b, {"t": "alert_checks", "i": str(check_id), "o": "u",
                     "d": {"plot_id": str(uuid.uuid4())}, "p": {}},
                 {"t": "alert_checks", "i": str(check_id), "o": "u",
                  "d": {"cleared_ha": -1.0}, "p": {"cleared_ha": 0.3}})
    assert codes == ["central_only", "invalid"]
    from fieldapp.nodes.rules import AlertCheckRules

    refusals = AlertCheckRules().check_inserts(None, None, [central.get(AlertCheck, check_id)])
    assert refusals[0].code == "central_only"
