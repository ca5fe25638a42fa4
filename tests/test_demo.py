"""The demo program: deterministic, at the program's scale, and the CLI around it."""

from __future__ import annotations

import shapely
from sqlalchemy import func, select

from fieldapp.agreements.content import content_hash
from fieldapp.agreements.models import Agreement, Signature
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family


def _fingerprint(app) -> list:
    with app.app_context():
        return db.session.execute(
            select(Family.code, Family.head_given_names, Family.head_surname, Family.dni)
            .order_by(Family.code)
        ).all()


def test_demo_is_deterministic(app_factory):
    runs = []
    for _ in range(2):
        app = app_factory()
        with app.app_context():
            from fieldapp.demo.generator import generate

            stats = generate(scale=0.05, seed=11)
        runs.append((stats, _fingerprint(app)))
    assert runs[0] == runs[1]
    assert runs[0][0]["families"] == 52


def test_demo_program_has_the_whole_cycle(demo_app):
    with demo_app.app_context():
        statuses = dict(db.session.execute(
            select(Agreement.status, func.count()).group_by(Agreement.status)).all())
        assert {"active", "suspended", "completed", "draft"} <= set(statuses)
        assert db.session.scalar(select(func.count(Signature.id))) > 0
        assert db.session.scalar(
            select(func.count(Delivery.id)).where(Delivery.reverses_id.is_not(None))) >= 0
        # Every signed agreement's stored hash is the hash of its frozen content.
        for content, stored in db.session.execute(
            select(Agreement.signed_content, Agreement.content_hash)
            .where(Agreement.content_hash.is_not(None))
        ):
            assert content_hash(content) == stored
        # Names carry Spanish accents and ñ somewhere in the program.
        names = " ".join(db.session.execute(select(Family.head_surname)).scalars())
        assert any(ch in names for ch in "áéíóúñ")


def test_cli_demo_if_empty_and_welcome(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--scale", "0.02", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "families=21" in result.output
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "already has data" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Family.id))) == 21
    welcome = runner.invoke(args=["welcome", "--url", "http://127.0.0.1:5000/"])
    assert "coordinadora" in welcome.output
    assert "fieldapp-demo" in welcome.output


def test_demo_logins_work(demo_app):
    client = demo_app.test_client()
    for username in ("admin", "coordinadora", "promotor"):
        response = client.post("/auth/login", data={"username": username,
                                                    "password": "fieldapp-demo"})
        assert response.status_code == 302, username
        client.post("/auth/logout")


def test_codes_continue_after_the_demo(demo_app):
    from fieldapp.codes import next_code

    with demo_app.test_request_context():
        highest = db.session.scalar(select(func.max(Family.code)))
        assert next_code() > highest


def test_demo_quantities_are_whole_and_in_each_units_steps(demo_app):
    """Demo data looks real: nobody hands out 33.33 seedlings or 0.5 first-aid kits."""
    from fieldapp.agreements.models import AgreementBenefit, BenefitType

    steps = {"coffee_seedlings": 50, "shade_seedlings": 10}  # a tray, a bundle of ten
    with demo_app.app_context():
        for table in (Delivery, AgreementBenefit):
            rows = db.session.execute(
                select(BenefitType.code, table.unit, table.quantity)
                .join(BenefitType, BenefitType.id == table.benefit_type_id)).all()
            assert rows
            for code, unit, quantity in rows:
                # Every demo unit is counted: sesiones, visitas, kits, botiquines, plantones...
                assert quantity == quantity.to_integral_value(), (table, code, unit, quantity)
                if table is Delivery:
                    assert quantity % steps.get(code, 1) == 0, (code, quantity)


def test_the_demo_gives_each_family_a_plot_around_its_location(demo_app):
    from fieldapp.plots.geometry import shape_of
    from fieldapp.plots.models import Plot, PlotBoundary

    with demo_app.app_context():
        families = {f.id: f for f in db.session.execute(select(Family)).scalars()}
        plots = db.session.execute(select(Plot)).scalars().all()
        assert sorted(p.family_id for p in plots) == sorted(families)
        assert db.session.scalar(select(func.count(PlotBoundary.id))) == len(plots)
        for plot in plots:
            family = families[plot.family_id]
            polygon = shape_of(plot.boundary)
            assert polygon.is_valid
            assert polygon.contains(shapely.Point(family.lon, family.lat))
            assert plot.name == family.plot_name
            assert abs(plot.area_ha - family.plot_ha) < 0.5 * family.plot_ha
        assert sum(p.area_review for p in plots) < len(plots) / 4
    page = demo_app.test_client()
    page.post("/auth/login", data={"username": "coordinadora", "password": "fieldapp-demo"})
    assert page.get("/dashboard/map").get_data(as_text=True).count('class="plotshape') == len(
        plots)


def test_the_demo_on_central_has_alerts_to_verify(app_factory):
    from fieldapp.demo.generator import generate
    from fieldapp.plots.models import AlertCheck

    central = app_factory(ROLE="central")
    with central.app_context():
        stats = generate(scale=0.1, seed=5)
        assert stats["alerts"] >= 1
        assert db.session.scalar(select(func.count(AlertCheck.id))) == stats["alerts_to_verify"]
    with central.test_request_context():
        from fieldapp.pwa.worklist import worklist

        kinds = {i.kind for g in worklist(None) for i in g.items}
    assert "alert" in kinds
