"""Families that leave the program: out of the lists and figures, their history kept, and after
a withdrawal of consent their personal data left out of every export and printout."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from fieldapp.agreements.models import Agreement, Signature
from fieldapp.compliance.models import ComplianceVisit
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.trainings.models import Attendance

CENTRAL = "https://central.altomayo.example.org"
PERIOD = {"from": "2026-01", "to": "2026-10"}
#: The exported datasets that name a family, each a family's history.
FAMILY_DATASETS = ("agreements", "promised_benefits", "deliveries", "attendance", "visits",
                   "findings")
PERSONAL_COLUMNS = ("head_given_names", "head_surname", "dni", "phone", "lat", "lon",
                    "plot_name", "attendee_name")


@pytest.fixture
def central(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(demo=True, ROLE="central", CENTRAL_PUBLIC_URL=CENTRAL + "/",
                       DASHBOARD_TODAY="2026-10-31")


@pytest.fixture
def coordinator(central: Flask) -> Any:
    client = central.test_client()
    answer = client.post("/auth/login",
                         data={"username": "coordinadora", "password": "fieldapp-demo"})
    assert answer.status_code == 302
    return client


def _family_with_a_history(app: Flask) -> dict[str, Any]:
    """A demo family with a drawn signature on its active agreement, a delivery, attendance and
    a visit (given GPS here): everything an export or printout can show of it."""
    with app.app_context():
        family = db.session.execute(
            select(Family)
            .join(Agreement, Agreement.family_id == Family.id)
            .join(Signature, Signature.agreement_id == Agreement.id)
            .where(Agreement.status == "active", Signature.signer_role == "family",
                   Signature.image_png.is_not(None), Family.dni.is_not(None),
                   Family.lat.is_not(None),
                   Family.id.in_(select(Delivery.family_id)),
                   Family.id.in_(select(Attendance.family_id)),
                   Family.id.in_(select(ComplianceVisit.family_id)))
            .order_by(Family.code).limit(1)).scalar_one()
        # The demo's visits have no GPS: this family's get one (an export may not show it).
        db.session.execute(update(ComplianceVisit).where(ComplianceVisit.family_id == family.id)
                           .values(lat=-5.81234, lon=-77.41234))
        db.session.commit()
        agreement = db.session.execute(select(Agreement).where(
            Agreement.family_id == family.id, Agreement.status == "active")).scalars().first()
        delivery = db.session.execute(select(Delivery.id).where(
            Delivery.family_id == family.id).limit(1)).scalar_one()
        return {"id": family.id, "code": family.code, "given": family.head_given_names,
                "surname": family.head_surname, "dni": family.dni,
                "name": family.head_name, "agreement": agreement.id,
                "hash": agreement.content_hash, "delivery": delivery,
                "signed_name": (agreement.signed_content or {}).get("family", {}).get("head_name")}


def _csv_rows(client: Any, name: str) -> list[dict[str, str]]:
    response = client.get(f"/dashboard/export/{name}.csv", query_string=PERIOD)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True)[1:])))


def _xlsx_rows(client: Any, name: str) -> list[dict[str, Any]]:
    response = client.get(f"/dashboard/export/{name}.xlsx", query_string=PERIOD)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    book.close()
    width = len(rows[0])  # a row read back ends at its last filled cell
    return [dict(zip(rows[0], (*row, *[None] * (width - len(row))), strict=True))
            for row in rows[1:]]


def _pdf_text(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    pages = PdfReader(io.BytesIO(response.data)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def _withdraw(client: Any, family_id: Any, reason: str) -> None:
    answer = client.post(f"/families/{family_id}/withdraw",
                         data={"reason": reason, "withdrawn_on": "2026-10-01"})
    assert answer.status_code == 302


def _printouts(client: Any, family: dict[str, Any]) -> dict[str, str]:
    return {
        "agreement": _pdf_text(client, f"/print/agreements/{family['agreement']}.pdf"),
        "receipt": _pdf_text(client, f"/print/deliveries/{family['delivery']}/receipt.pdf"),
        "card": _pdf_text(client, f"/print/cards.pdf?family={family['id']}"),
        "verify": client.get(f"/verify/{family['agreement']}/{family['hash']}")
        .get_data(as_text=True),
    }


def test_withdrawal_of_consent_leaves_personal_data_out_of_every_export(central, coordinator):
    family = _family_with_a_history(central)
    code = family["code"]
    before = {name: [r for r in _csv_rows(coordinator, name) if r["family_code"] == code]
              for name in FAMILY_DATASETS}
    for name, rows in before.items():  # the history the exports show, with names
        assert rows, name
        assert rows[0]["head_surname"] == family["surname"], name
    assert before["visits"][0]["lat"]
    printed = _printouts(coordinator, family)
    assert family["dni"] in printed["agreement"]
    assert family["dni"] in printed["receipt"]
    assert family["given"].split()[0] in printed["card"]
    assert "Family (initials)" in printed["verify"] or "iniciales" in printed["verify"]

    _withdraw(coordinator, family["id"], "consent_withdrawn")

    for name in FAMILY_DATASETS:
        rows = [r for r in _csv_rows(coordinator, name) if r["family_code"] == code]
        assert len(rows) == len(before[name]), name  # the history stays
        for row in rows:
            for column in PERSONAL_COLUMNS:
                assert row.get(column, "") == "", (name, column)
        book = [r for r in _xlsx_rows(coordinator, name) if r["family_code"] == code]
        assert len(book) == len(before[name]), name
        for row in book:
            for column in PERSONAL_COLUMNS:
                assert row.get(column) in (None, ""), (name, column)
    printed = _printouts(coordinator, family)
    for kind, text in printed.items():
        assert family["dni"] not in text, kind
        assert family["name"] not in text, kind
        if family["signed_name"]:
            assert family["signed_name"] not in text, kind
    assert code in printed["receipt"]  # the code stays: the record is still the family's
    assert "Family (initials)" not in printed["verify"]
    assert "iniciales" not in printed["verify"]


def test_another_reason_to_leave_keeps_the_names_in_the_history(central, coordinator):
    family = _family_with_a_history(central)
    _withdraw(coordinator, family["id"], "moved_away")
    rows = [r for r in _csv_rows(coordinator, "deliveries") if r["family_code"] == family["code"]]
    assert rows
    assert {r["head_surname"] for r in rows} == {family["surname"]}
    assert family["dni"] in _pdf_text(
        coordinator, f"/print/deliveries/{family['delivery']}/receipt.pdf")


def test_family_list_shows_withdrawn_families_only_behind_the_filter(app, client, auth,
                                                                     make_family):
    staying = make_family(head_surname="Quispe Rojas")
    leaving = make_family(head_surname="Tapullima Sangama")
    auth.login("coordinator")
    _withdraw(client, leaving, "deceased")
    listed = client.get("/families/").get_data(as_text=True)
    assert f"/families/{staying}" in listed
    assert f"/families/{leaving}" not in listed
    gone = client.get("/families/?status=withdrawn").get_data(as_text=True)
    assert f"/families/{leaving}" in gone
    assert f"/families/{staying}" not in gone
    assert 'value="withdrawn" selected' in gone
    searched = client.get("/families/?q=tapullima").get_data(as_text=True)
    assert f"/families/{leaving}" not in searched
    assert f"/families/{leaving}" in client.get(
        "/families/?q=tapullima&status=withdrawn").get_data(as_text=True)
    # Its page (and so its history) stays.
    assert client.get(f"/families/{leaving}").status_code == 200
