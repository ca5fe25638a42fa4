"""The coordinators' dashboard, through HTTP, against numbers computed here the plain way."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text, update

from fieldapp.extensions import db
from tests.dashboard_expected import Expected, Period

DEMO_PASSWORD = "fieldapp-demo"  # noqa: S105 - the demo program's printed password
YEAR = {"from": "2026-01", "to": "2026-10"}


@pytest.fixture
def dash_app(app_factory: Any) -> Flask:
    """The demo program (scale 0.1, seed 7) seen on the demo's "today", 2026-10-31."""
    return app_factory(demo=True, DASHBOARD_TODAY="2026-10-31", ROLE="central")


def login(app: Flask, username: str = "coordinadora") -> FlaskClient:
    client = app.test_client()
    response = client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def coordinator(dash_app: Flask) -> FlaskClient:
    return login(dash_app)


def expected(app: Flask, period: Period) -> Expected:
    with app.app_context():
        return Expected(period)


def community(app: Flask, code: str) -> uuid.UUID:
    from fieldapp.communities.models import Community

    with app.app_context():
        return db.session.execute(select(Community.id).where(Community.code == code)).scalar_one()


def direct_summary(app: Flask, args: dict[str, str]) -> dict[str, Any]:
    """The figures computed straight from the records (no summary tables)."""
    from fieldapp.dashboard import overview
    from fieldapp.dashboard.filters import parse_filters
    from tests import dashboard_direct

    with app.test_request_context():
        return overview.summary(parse_filters(args), figures=dashboard_direct)


# -- access ----------------------------------------------------------------------------------------
def test_dashboard_needs_a_coordinator(dash_app: Flask) -> None:
    anonymous = dash_app.test_client()
    assert anonymous.get("/dashboard/").status_code == 302
    field = login(dash_app, "promotor")
    assert field.get("/dashboard/").status_code == 403
    assert field.get("/dashboard/export/deliveries.csv").status_code == 403
    assert 'href="/dashboard/"' not in field.get("/families/").get_data(as_text=True)
    for user in ("coordinadora", "admin"):
        client = login(dash_app, user)
        page = client.get("/dashboard/", query_string=YEAR)
        assert page.status_code == 200
        assert 'href="/dashboard/"' in page.get_data(as_text=True)


# -- the numbers -----------------------------------------------------------------------------------
def _check_summary(data: dict[str, Any], exp: Expected) -> None:
    table = exp.by_community()
    shown = {row["code"]: row for row in data["by_community"] if row["registered"]}
    assert set(shown) == set(table)
    keys = (
        "registered",
        "under_agreement",
        "active_agreement",
        "compliant",
        "non_compliant",
        "not_visited",
        "no_agreement",
        "received",
        "compliant_received",
        "attended",
        "visited",
    )
    for code, counts in table.items():
        assert {k: shown[code][k] for k in keys} == {k: counts.get(k, 0) for k in keys}, code
    fam = data["families"]
    for k in keys:
        assert fam[k] == sum(c.get(k, 0) for c in table.values()), k

    statuses = exp.agreements_by_status()
    assert {s: n for s, n in data["agreements_by_status"].items() if n} == dict(statuses)
    assert data["renewals_due"] == exp.renewals_due()

    benefits = exp.benefits()
    assert {b["code"] for b in data["benefits"]} == set(benefits)
    for b in data["benefits"]:
        want = benefits[b["code"]]
        for k in ("promised", "delivered_to_date", "delivered_in_period"):
            assert Decimal(str(b[k])) == want[k], (b["code"], k)
        assert b["deliveries_in_period"] == want["deliveries_in_period"]
    counts = exp.delivery_counts()
    assert data["deliveries"]["deliveries"] == counts["deliveries"]
    assert data["deliveries"]["reversals"] == counts["reversals"]

    trainings = exp.trainings()
    assert data["trainings"]["sessions"] == trainings["sessions"]
    assert Decimal(str(data["trainings"]["hours"])) == trainings["hours"]
    assert data["trainings"]["attendance"] == trainings["attendance"]
    assert data["visits"]["visits"] == exp.visit_count()
    assert data["visits"]["families_due"] == fam["under_agreement"]

    findings = exp.findings_by_commitment()
    assert {
        c["code"]: {r: c[r] for r in ("met", "partial", "breached", "not_checked")}
        for c in data["compliance_by_commitment"]
    } == {
        code: {r: n.get(r, 0) for r in ("met", "partial", "breached", "not_checked")}
        for code, n in findings.items()
    }
    assert {k: v for k, v in data["sanctions"]["in_force"].items() if v} == dict(
        exp.sanctions_in_force()
    )

    trend = exp.trend()
    for row in data["trend"]:
        want = trend.get(row["month"], {})
        assert (row["deliveries"], row["visits"], row["attendance"]) == (
            want.get("deliveries", 0),
            want.get("visits", 0),
            want.get("attendance", 0),
        )


def test_year_figures_match_the_demo_program(dash_app: Flask, coordinator: FlaskClient) -> None:
    data = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    exp = expected(dash_app, Period("2026-01", "2026-10"))
    _check_summary(data, exp)
    fam = data["families"]
    # The demo program is not empty in any of these, so every comparison above had teeth.
    assert fam["registered"] == 103
    assert fam["compliant"] > 0
    assert fam["non_compliant"] > 0
    assert fam["no_agreement"] > 0
    assert data["deliveries"]["reversals"] >= 0
    assert data["target_families"] == 1033
    assert len(data["trend"]) == 10


def test_quarter_and_community_figures(dash_app: Flask, coordinator: FlaskClient) -> None:
    quarter = {"from": "2026-07", "to": "2026-09"}
    data = coordinator.get("/dashboard/summary.json", query_string=quarter).get_json()
    _check_summary(data, expected(dash_app, Period("2026-07", "2026-09")))
    assert data["filters"]["asof"] == "2026-09-30"

    code = max(data["by_community"], key=lambda r: r["registered"])["code"]
    args = {**YEAR, "community": str(community(dash_app, code))}
    data = coordinator.get("/dashboard/summary.json", query_string=args).get_json()
    _check_summary(data, expected(dash_app, Period("2026-01", "2026-10", community_code=code)))
    assert [r["code"] for r in data["by_community"]] == [code]


def staff_member(app: Flask, username: str = "promotor") -> tuple[uuid.UUID, str]:
    from fieldapp.auth.models import User

    with app.app_context():
        row = db.session.execute(
            select(User.id, User.full_name).where(User.username == username)
        ).one()
    return row.id, row.full_name


def test_staff_filter_figures_match_the_demo_program(
    dash_app: Flask, coordinator: FlaskClient
) -> None:
    staff = staff_member(dash_app)
    everyone = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    args = {**YEAR, "staff": str(staff[0])}
    data = coordinator.get("/dashboard/summary.json", query_string=args).get_json()
    _check_summary(data, expected(dash_app, Period("2026-01", "2026-10", staff=staff)))
    # A real subset: fewer deliveries and families than everyone's, but not none.
    assert 0 < data["deliveries"]["deliveries"] < everyone["deliveries"]["deliveries"]
    assert 0 < data["families"]["registered"] < everyone["families"]["registered"]
    assert 0 < data["visits"]["visits"] < everyone["visits"]["visits"]

    quarter = {"from": "2026-07", "to": "2026-09", "staff": str(staff[0])}
    data = coordinator.get("/dashboard/summary.json", query_string=quarter).get_json()
    _check_summary(data, expected(dash_app, Period("2026-07", "2026-09", staff=staff)))

    code = max(everyone["by_community"], key=lambda r: r["registered"])["code"]
    other = staff_member(dash_app, "promotora")
    args = {**YEAR, "staff": str(other[0]), "community": str(community(dash_app, code))}
    data = coordinator.get("/dashboard/summary.json", query_string=args).get_json()
    _check_summary(
        data, expected(dash_app, Period("2026-01", "2026-10", community_code=code, staff=other))
    )
    assert data["families"]["registered"] > 0


def test_summary_tables_agree_with_the_records(dash_app: Flask, coordinator: FlaskClient) -> None:
    from fieldapp.auth.models import User

    with dash_app.app_context():
        staff = db.session.execute(select(User.id).where(User.username == "promotor")).scalar_one()
    for args in (
        YEAR,
        {"from": "2025-01", "to": "2025-12"},
        {"from": "2026-10", "to": "2026-12"},
        {**YEAR, "staff": str(staff)},
    ):
        fast = coordinator.get("/dashboard/summary.json", query_string=args).get_json()
        assert fast == direct_summary(dash_app, args), args


def test_page_shows_the_answer_by_community(dash_app: Flask, coordinator: FlaskClient) -> None:
    page = coordinator.get("/dashboard/", query_string=YEAR).get_data(as_text=True)
    table = expected(dash_app, Period("2026-01", "2026-10")).by_community()
    total = re.search(r'<tr data-community="total">(.*?)</tr>', page, re.S).group(1)
    cells = [int(v.replace(".", "")) for v in re.findall(r'class="num">([\d.]+)<', total)]
    order = (
        "registered",
        "active_agreement",
        "compliant",
        "non_compliant",
        "not_visited",
        "no_agreement",
        "received",
        "compliant_received",
    )
    assert cells == [sum(c.get(k, 0) for c in table.values()) for k in order]
    # Charts are drawn on the server: SVG with a title, no script, no inline style.
    assert page.count('<svg class="chart') >= 7
    assert "<script>" not in page
    assert " style=" not in page
    assert page.count('role="img"') >= 7


# -- the summaries follow the records --------------------------------------------------------
def _delivery_row(app: Flask, **values: Any) -> dict[str, Any]:
    from fieldapp.deliveries.models import Delivery

    with app.app_context():
        base = (
            db.session.execute(
                select(Delivery).where(Delivery.reverses_id.is_(None)).order_by(Delivery.code)
            )
            .scalars()
            .first()
        )
        row = {c.name: getattr(base, c.name) for c in Delivery.__table__.columns}
        row |= {"id": uuid.uuid4(), "code": f"X-{uuid.uuid4().hex[:10]}", **values}
        db.session.execute(insert(Delivery), [row])
        db.session.commit()
        return row


def test_new_records_show_at_the_next_view(dash_app: Flask, coordinator: FlaskClient) -> None:
    from fieldapp.communities.models import Community
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.families.models import Family

    before = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    row = _delivery_row(dash_app, delivered_on=date(2026, 10, 20))
    _delivery_row(dash_app, delivered_on=date(2026, 10, 21), reverses_id=row["id"])
    with dash_app.app_context():
        visit = (
            db.session.execute(
                select(ComplianceVisit)
                .where(ComplianceVisit.visited_on >= date(2026, 1, 1))
                .order_by(ComplianceVisit.code)
            )
            .scalars()
            .first()
        )
        visit.voided = True
        family = db.session.execute(select(Family).order_by(Family.code)).scalars().first()
        other = (
            db.session.execute(
                select(Community.id)
                .where(Community.id != family.community_id)
                .order_by(Community.code)
            )
            .scalars()
            .first()
        )
        family.community_id = other
        db.session.commit()
    after = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    assert after["deliveries"]["deliveries"] == before["deliveries"]["deliveries"] + 1
    assert after["deliveries"]["reversals"] == before["deliveries"]["reversals"] + 1
    assert after["visits"]["visits"] == before["visits"]["visits"] - 1
    assert after == direct_summary(dash_app, YEAR)
    _check_summary(after, expected(dash_app, Period("2026-01", "2026-10")))


def test_dropped_triggers_are_put_back(dash_app: Flask, coordinator: FlaskClient) -> None:
    coordinator.get("/dashboard/summary.json", query_string=YEAR)
    with dash_app.app_context():
        names = (
            db.session.execute(
                text(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'trigger' AND name LIKE 'dash_mark_%'"
                )
            )
            .scalars()
            .all()
        )
        assert len(names) == 30
        # What a batch migration rebuilding the table does to its triggers:
        for name in names:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        db.session.commit()
    _delivery_row(dash_app, delivered_on=date(2026, 10, 25))
    # A new process (after the migration) checks the triggers on its first view.
    dash_app.extensions["dashboard"].clear()
    after = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    assert after == direct_summary(dash_app, YEAR)
    with dash_app.app_context():
        assert (
            db.session.execute(
                text(
                    "SELECT count(*) FROM sqlite_master"
                    " WHERE type = 'trigger' AND name LIKE 'dash_mark_%'"
                )
            ).scalar()
            == 30
        )



def test_triggers_of_an_earlier_version_are_replaced(dash_app: Flask,
                                                     coordinator: FlaskClient) -> None:
    """An installation whose triggers were made by an earlier version (before they looked for
    a waiting mark first) gets this version's on its first view, and nothing is missed."""
    from fieldapp.dashboard.triggers import _sqlite_statements

    coordinator.get("/dashboard/summary.json", query_string=YEAR)
    wanted = _sqlite_statements()
    name = "dash_mark_benefit_deliveries_insert"
    with dash_app.app_context():
        db.session.execute(text(f'DROP TRIGGER "{name}"'))
        old = wanted[name].replace(wanted[name][wanted[name].index(" WHEN "):
                                                wanted[name].index(" BEGIN ")], "")
        db.session.execute(text(old))
        db.session.commit()
    _delivery_row(dash_app, delivered_on=date(2026, 10, 26))  # marked by the old trigger
    dash_app.extensions["dashboard"].clear()  # a new process, after the upgrade
    after = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    assert after == direct_summary(dash_app, YEAR)
    with dash_app.app_context():
        installed = dict(db.session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND name LIKE 'dash_mark_%'")).all())
    assert installed == wanted
    assert " WHEN NOT EXISTS " in installed[name]
    # And the replaced trigger marks what comes next.
    before = after
    _delivery_row(dash_app, delivered_on=date(2026, 10, 27))
    after = coordinator.get("/dashboard/summary.json", query_string=YEAR).get_json()
    assert after["deliveries"]["deliveries"] == before["deliveries"]["deliveries"] + 1
    assert after == direct_summary(dash_app, YEAR)

# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"from": "2026-10", "to": "2026-01"}, "to", "El fin del periodo es anterior a su inicio."),
        ({"from": "2026-13"}, "from", "Escriba el mes como AAAA-MM, por ejemplo 2026-03."),
        ({"to": "31/10/2026"}, "to", "Escriba el mes como AAAA-MM, por ejemplo 2026-03."),
        ({"from": "1999-12"}, "from", "Elija un mes entre 2000 y 2100."),
        (
            {"community": str(uuid.uuid4())},
            "community",
            "Esta comunidad no existe. Elija una de la lista.",
        ),
        (
            {"community": "not-a-uuid"},
            "community",
            "Esta comunidad no existe. Elija una de la lista.",
        ),
        ({"staff": "42"}, "staff", "Esta persona del equipo no existe. Elija una de la lista."),
    ],
)
def test_impossible_filters_get_a_clear_message(
    coordinator: FlaskClient, args: dict[str, str], field: str, message: str
) -> None:
    page = coordinator.get("/dashboard/", query_string=args)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'<p class="error" id="f-{field}-err">{message}</p>' in html
    for name, value in args.items():  # what was typed stays in the form
        assert f'value="{value}"' in html or name in ("community", "staff")
    body = coordinator.get("/dashboard/summary.json", query_string=args)
    assert body.status_code == 422
    assert body.get_json()["error"]["code"] == "invalid"
    assert body.get_json()["error"]["details"]["fields"][field] == message
    for url in (
        "/dashboard/export/deliveries.csv",
        "/dashboard/export/families.xlsx",
        "/dashboard/summary.pdf",
        "/dashboard/map",
        "/dashboard/lists/owed",
    ):
        assert coordinator.get(url, query_string=args).status_code == 422, url


@pytest.mark.parametrize(
    "args",
    [
        {"per_page": "0"},
        {"per_page": "100000"},
        {"per_page": "ten"},
        {"page": "0"},
        {"page": "-3"},
        {"page": "99999999999999999999"},
        {"months": "0"},
        {"days": "5000"},
    ],
)
def test_absurd_page_sizes_and_counts(coordinator: FlaskClient, args: dict[str, str]) -> None:
    response = coordinator.get("/dashboard/lists/no_visit", query_string=args)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)


def test_unknown_lists_and_formats_are_not_found(coordinator: FlaskClient) -> None:
    assert coordinator.get("/dashboard/lists/everything").status_code == 404
    assert coordinator.get("/dashboard/export/deliveries.pdf").status_code == 404
    assert coordinator.get("/dashboard/export/passwords.csv").status_code == 404


# -- map -------------------------------------------------------------------------------------------
def test_map_points_link_to_families_coloured_and_shaped_by_status(
    dash_app: Flask, coordinator: FlaskClient
) -> None:
    page = coordinator.get("/dashboard/map", query_string=YEAR).get_data(as_text=True)
    rows = expected(dash_app, Period("2026-01", "2026-10")).family_rows()
    with dash_app.app_context():
        from fieldapp.families.models import Family

        located = {
            str(f.id)
            for f in db.session.execute(select(Family)).scalars()
            if f.lat is not None and f.id in rows
        }
    links = re.findall(
        r'<a href="/families/([0-9a-f-]+)" xlink:href="[^"]+" class="plot '
        r'plot-(\w+)" data-status="\w+"><(?:circle|rect|polygon) class="marker',
        page,
    )
    assert {family for family, _status in links} == located
    status_of = {str(k): v["status"] for k, v in rows.items()}
    assert all(status_of[family] == status for family, status in links)
    # Colour and shape: a status is never told by colour alone.
    marks = {
        "compliant": ("#009e73", "circle"),
        "non_compliant": ("#d55e00", "square"),
        "no_agreement": ("#8c8c8c", "diamond"),
    }
    for status, (colour, shape) in marks.items():
        assert re.search(
            rf'data-status="{status}"><\w+ class="marker marker-{shape}" fill="{colour}"', page
        )
    with dash_app.app_context():
        from fieldapp.communities.models import Community

        names = db.session.execute(select(Community.name)).scalars().all()
    assert all(f">{name}</text>" in page for name in names)
    assert "tile" not in page.lower().replace("title", "")  # no tile server, nothing fetched
    assert " style=" not in page
    assert "<script>" not in page


# -- lists -----------------------------------------------------------------------------------------
def _list(client: FlaskClient, name: str, **args: str) -> tuple[int, list[list[str]]]:
    response = client.get(f"/dashboard/export/{name}.csv", query_string={**YEAR, **args})
    assert response.status_code == 200
    import csv
    import io

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return len(rows) - 1, rows


def test_lists_answer_their_questions(dash_app: Flask, coordinator: FlaskClient) -> None:
    exp = expected(dash_app, Period("2026-01", "2026-10"))
    families = exp.family_rows()
    n, rows = _list(coordinator, "no_visit", months="2")
    cutoff = date(2026, 8, 31)
    want = {
        r["code"]
        for r in families.values()
        if r["in_force"] and (r["last_visit_on"] is None or r["last_visit_on"] < cutoff)
    }
    assert {row[1] for row in rows[1:]} == want
    assert n == len(want) > 0

    n, _rows = _list(coordinator, "expiring")
    assert n == exp.renewals_due() > 0

    n, rows = _list(coordinator, "suspended")
    with dash_app.app_context():
        from fieldapp.agreements.models import Agreement

        suspended = {
            a.family.code
            for a in db.session.execute(select(Agreement)).scalars()
            if a.status == "suspended" and exp.in_force(a)
        }
    assert {row[1] for row in rows[1:]} == suspended
    assert n > 0

    n, rows = _list(coordinator, "owed")
    header = rows[0]
    owed = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert n > 0
    assert all(
        Decimal(r["owed"]) == Decimal(r["promised"]) - Decimal(r["delivered"]) > 0 for r in owed
    )
    assert {r["agreement_status"] for r in owed} <= {"active", "completed"}

    page = coordinator.get(
        "/dashboard/lists/owed", query_string={**YEAR, "per_page": "7", "page": "2"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<tr>") - 1 == 7  # header row + seven rows
    assert f"{n} filas" in html


def test_suspected_double_deliveries(dash_app: Flask, coordinator: FlaskClient) -> None:
    n, _rows = _list(coordinator, "duplicates")
    original = _delivery_row(dash_app, delivered_on=date(2026, 9, 9))
    double = _delivery_row(dash_app, delivered_on=date(2026, 9, 9), quantity=original["quantity"])
    flagged = _delivery_row(
        dash_app, delivered_on=date(2026, 9, 12), suspected_duplicate_of_id=original["id"]
    )
    n2, rows = _list(coordinator, "duplicates")
    found = {(row[1], row[-1]) for row in rows[1:]}
    assert n2 >= n + 2
    assert (max(original["code"], double["code"]), "same_day_same_quantity") in found
    assert (flagged["code"], "flagged") in found
    # A reversed double is no longer suspected.
    _delivery_row(dash_app, delivered_on=date(2026, 9, 10), reverses_id=double["id"])
    _n3, rows = _list(coordinator, "duplicates")
    assert (max(original["code"], double["code"]), "same_day_same_quantity") not in {
        (row[1], row[-1]) for row in rows[1:]
    }


# -- donor summary ---------------------------------------------------------------------------------
def test_summary_pdf_is_one_page_with_the_figures(
    dash_app: Flask, coordinator: FlaskClient
) -> None:
    import io

    from pypdf import PdfReader

    response = coordinator.get("/dashboard/summary.pdf", query_string=YEAR)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    # The figures fill page 1; page 2 holds their definitions (see the next test).
    assert len(reader.pages) == 2
    words = " ".join(reader.pages[0].extract_text().split())
    table = expected(dash_app, Period("2026-01", "2026-10")).by_community()
    total = [
        sum(c.get(k, 0) for c in table.values())
        for k in (
            "registered",
            "active_agreement",
            "compliant",
            "non_compliant",
            "received",
            "compliant_received",
        )
    ]
    assert "Resumen del programa" in words
    assert "familias registradas" in words
    assert "Total " + " ".join(str(n) for n in total) in words
    assert "UTC" not in words  # printed at a time of the program's zone (America/Lima)
    assert re.search(r"Impreso el \d{1,2} \w+\.? \d{4}, \d{1,2}:\d{2}", words), words[-300:]
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts  # embedded TrueType (Vera) rather than the base-14 fonts
    base = {
        page["/Resources"]["/Font"][k].get_object()["/BaseFont"]
        for page in reader.pages
        for k in page["/Resources"]["/Font"]
    }
    assert all("Vera" in str(b) for b in base)


def test_summary_pdf_headers_whole_definitions_page_and_local_time(
    dash_app: Flask, coordinator: FlaskClient
) -> None:
    """No header word split mid-word, the footer's page 2 exists, and the time is Lima's."""
    import io
    from datetime import UTC, datetime, timedelta

    from pypdf import PdfReader

    before = datetime.now(UTC)
    response = coordinator.get("/dashboard/summary.pdf", query_string=YEAR)
    after = datetime.now(UTC)
    reader = PdfReader(io.BytesIO(response.data))
    first = reader.pages[0].extract_text()
    tokens = set(first.split())
    headers = (
        "Comunidad Registrado Acuerdo activo Cumplen No cumplen Recibieron beneficios "
        "Beneficio Unidad Prometido Entregado a la fecha En el periodo "
        "Compromiso Cumple en parte Tasa de cumplimiento"
    )
    for word in headers.split():
        assert word in tokens, f"header word {word!r} is split or missing"
    assert "cu" not in tokens
    assert "mplimiento" not in tokens

    assert "página 2" in " ".join(first.split())
    assert len(reader.pages) == 2
    definitions = " ".join(reader.pages[1].extract_text().split())
    assert "Definiciones de las cifras" in definitions
    for term in ("Familia registrada", "Acuerdo vigente", "Estado de cumplimiento",
                 "Tasa de cumplimiento", "Recibieron beneficios", "Sanción vigente",
                 "Tasa de asistencia", "día de corte"):
        assert term in definitions

    from fieldapp.formatting import format_when

    minutes = set()
    at = before.replace(microsecond=0)
    with dash_app.app_context():  # Lima's time, as every page writes it ("7 dic. 2026, 8:08:17")
        assert dash_app.config["PROGRAM_TIMEZONE"] == "America/Lima"
        while at <= after:
            minutes.add(" ".join(format_when(at, "medium", locale="es_PE").split()))
            at += timedelta(seconds=1)
    flat = " ".join(first.split())
    assert any(m in flat for m in minutes), flat[-300:]
    assert "UTC" not in flat


def test_field_node_shows_its_own_data(app_factory: Any) -> None:
    app = app_factory(demo=True, DASHBOARD_TODAY="2026-10-31", ROLE="field")
    client = login(app)
    page = client.get("/dashboard/", query_string=YEAR).get_data(as_text=True)
    assert "solo los datos de este nodo" in page


def test_dashboard_in_english(dash_app: Flask, coordinator: FlaskClient) -> None:
    with dash_app.app_context():
        from fieldapp.auth.models import User

        db.session.execute(update(User).where(User.username == "coordinadora").values(locale="en"))
        db.session.commit()
    page = coordinator.get("/dashboard/", query_string=YEAR).get_data(as_text=True)
    assert "Families by community" in page
    assert "Compliant and received benefits" in page


# -- PostgreSQL gives the same numbers -------------------------------------------------------
@pytest.fixture
def pg_app(tmp_path: Any) -> Any:
    """The same demo program in a PostgreSQL database of its own (dropped afterwards)."""
    psycopg = pytest.importorskip("psycopg")
    from fieldapp import create_app
    from fieldapp.demo.generator import generate

    try:
        admin = psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"fieldapp_dash_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "pg"),
                "SECRET_KEY": "test-secret",
                "NODE_ID": "00000000-0000-0000-0000-00000000cafe",
                "NODE_CODE": "TST",
                "WTF_CSRF_ENABLED": False,
                "AUTO_MIGRATE": True,
                "ROLE": "central",
                "DASHBOARD_TODAY": "2026-10-31",
                "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            }
        )
        with app.app_context():
            generate(scale=0.1, seed=7)
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["by_community"] = [{k: v for k, v in r.items() if k != "id"} for r in data["by_community"]]
    data["filters"] = {k: v for k, v in data["filters"].items() if k not in ("community", "staff")}
    return data


@pytest.mark.postgres
def test_postgresql_gives_the_same_numbers(pg_app: Flask, dash_app: Flask) -> None:
    pg, lite = login(pg_app), login(dash_app)
    code = "C001"
    for args, period in (
        (YEAR, Period("2026-01", "2026-10")),
        ({"from": "2026-07", "to": "2026-09"}, Period("2026-07", "2026-09")),
        ({"from": "2025-01", "to": "2025-12"}, Period("2025-01", "2025-12")),
        ({**YEAR, "community": code}, Period("2026-01", "2026-10", community_code=code)),
        ({**YEAR, "staff": "promotor"}, Period("2026-01", "2026-10")),
        ({"from": "2026-07", "to": "2026-09", "staff": "promotor", "community": code},
         Period("2026-07", "2026-09", community_code=code)),
    ):
        pg_args, lite_args = dict(args), dict(args)
        if "community" in args:
            pg_args["community"] = str(community(pg_app, code))
            lite_args["community"] = str(community(dash_app, code))
        if "staff" in args:
            pg_staff = staff_member(pg_app, args["staff"])
            pg_args["staff"] = str(pg_staff[0])
            lite_args["staff"] = str(staff_member(dash_app, args["staff"])[0])
            period = replace(period, staff=pg_staff)
        on_pg = pg.get("/dashboard/summary.json", query_string=pg_args).get_json()
        assert on_pg == direct_summary(pg_app, pg_args)
        _check_summary(on_pg, expected(pg_app, period))
        on_lite = lite.get("/dashboard/summary.json", query_string=lite_args).get_json()
        assert _without_ids(on_pg) == _without_ids(on_lite), args
    for name in ("owed", "no_visit", "expiring", "suspended", "duplicates", "deliveries"):
        on_pg = pg.get(f"/dashboard/export/{name}.csv", query_string=YEAR).get_data(as_text=True)
        on_lite = lite.get(f"/dashboard/export/{name}.csv", query_string=YEAR).get_data(
            as_text=True
        )
        # Same rows (ids differ: every record got a fresh UUID when it was generated).
        assert _codes(on_pg) == _codes(on_lite), name
    assert pg.get("/dashboard/", query_string=YEAR).status_code == 200
    assert pg.get("/dashboard/map", query_string=YEAR).status_code == 200
    assert pg.get("/dashboard/summary.pdf", query_string=YEAR).status_code == 200

    # The triggers keep PostgreSQL's summaries current too.
    before = pg.get("/dashboard/summary.json", query_string=YEAR).get_json()
    _delivery_row(pg_app, delivered_on=date(2026, 10, 20))
    after = pg.get("/dashboard/summary.json", query_string=YEAR).get_json()
    assert after["deliveries"]["deliveries"] == before["deliveries"]["deliveries"] + 1
    assert after == direct_summary(pg_app, YEAR)
    with pg_app.app_context():
        triggers = db.session.execute(
            text(
                "SELECT count(*) FROM pg_trigger"
                " WHERE NOT tgisinternal AND tgname LIKE 'dash_mark_%'"
            )
        ).scalar()
    assert triggers == 30


def _codes(text_csv: str) -> list[tuple[str, ...]]:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text_csv.lstrip("\ufeff"))))
    return sorted(tuple(v for k, v in r.items() if not k.endswith("_id")) for r in rows)


def test_an_empty_program_has_a_dashboard(client: FlaskClient, auth: Any) -> None:
    auth.login("coordinator")
    for url in ("/dashboard/", "/dashboard/map", "/dashboard/lists/owed", "/dashboard/summary.pdf",
                "/dashboard/export/families.xlsx"):
        assert client.get(url).status_code == 200, url
    data = client.get("/dashboard/summary.json").get_json()
    assert data["families"]["registered"] == 0
    assert data["families"]["compliance_rate"] is None


@pytest.mark.postgres
def test_a_rebuild_under_way_never_holds_other_coordinators(pg_app: Flask) -> None:
    """On a sync day nodes mark communities dirty all the time. While one request rebuilds the
    summaries (it holds the rebuild lock), another coordinator's page whose figures exist is
    drawn at once from them, instead of holding a worker until the rebuild ends (twenty
    coordinators queued behind each other, and the nodes' requests behind them). A page whose
    figures do not exist yet waits for the lock and builds them."""
    import threading

    import psycopg

    from fieldapp.dashboard.models import DirtyMark
    from fieldapp.dashboard.rollups import ADVISORY_LOCK_KEY

    client = login(pg_app)
    before = client.get("/dashboard/summary.json", query_string=YEAR).get_json()
    with pg_app.app_context():
        db.session.add(DirtyMark(community_id=community(pg_app, "C001")))
        db.session.commit()
        url = db.engine.url.render_as_string(hide_password=False).replace(
            "postgresql+psycopg", "postgresql")
    holder = psycopg.connect(url)  # another worker, rebuilding
    holder.execute("BEGIN")
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        drawn: list[Any] = []
        page = threading.Thread(target=lambda: drawn.append(client.get(
            "/dashboard/summary.json", query_string=YEAR)))
        page.start()
        page.join(timeout=3)
        assert not page.is_alive()  # not held until the rebuild ends
        [during] = drawn
        assert during.status_code == 200
        assert during.get_json() == before  # the figures as they were
        with pg_app.app_context():  # the mark is still there for the rebuild to take
            assert db.session.query(DirtyMark).count() >= 1
            db.session.rollback()

        answers: list[int] = []
        other = login(pg_app)
        never_asked = {"from": "2025-02", "to": "2025-03"}  # its figures must be built first
        waiting = threading.Thread(target=lambda: answers.append(other.get(
            "/dashboard/summary.json", query_string=never_asked).status_code))
        waiting.start()
        waiting.join(timeout=2)
        assert waiting.is_alive()  # it waits for the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    page.join(timeout=60)
    waiting.join(timeout=60)
    assert answers == [200]
    client.get("/dashboard/summary.json", query_string=YEAR)
    with pg_app.app_context():
        assert db.session.query(DirtyMark).count() == 0  # the next page rebuilt
