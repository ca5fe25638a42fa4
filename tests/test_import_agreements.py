"""Agreements signed on paper before fieldapp, imported through the register's path: the
agreements' own rules on every row, the same file twice, bad rows, the CLI and the screen."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fieldapp.extensions import db


def _central(app_factory):
    from cyclekit import seed

    from fieldapp.communities.models import Community
    from fieldapp.families.operations import create_family

    central = app_factory(ROLE="central")
    seed(central)
    with central.test_request_context():
        village = Community(code="C400", name="Alto Perú", lat=-5.7, lon=-77.5)
        db.session.add(village)
        db.session.flush()
        families = {}
        for code, given, surname, dni in (("F-1", "Rosa", "Tuanama Vela", "04567891"),
                                          ("F-2", "Juan", "Huamán Cieza", "45678912"),
                                          ("F-3", "Segundo", "Quispe Rojas", None)):
            family = create_family({"community_id": village.id, "head_given_names": given,
                                    "head_surname": surname, "members_count": 3, "dni": dni})
            family.code = code
            families[code] = family.id
        db.session.commit()
    return central, families


def _agreements(app) -> list:
    from fieldapp.agreements.models import Agreement

    with app.app_context():
        rows = db.session.execute(select(Agreement).order_by(Agreement.period_start)).scalars()
        return [(a.family_id, a.status, a.signed_on_paper, a.period_start, a.period_end,
                 a.content_hash, a.notes, sorted((b.benefit_type.code, str(b.quantity))
                                                 for b in a.benefits if not b.voided),
                 len([c for c in a.commitments if not c.voided]),
                 [s.signer_name for s in a.signatures]) for a in rows]


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "acuerdos.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["import", "agreements", *map(str, args)])


def _day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def test_paper_agreements_are_signed_activated_and_completed_by_the_agreements_rules(
        app_factory, tmp_path):
    central, families = _central(app_factory)
    today = date.today()
    old = today - timedelta(days=800)
    recent = today - timedelta(days=40)
    path = _write(tmp_path, "\n".join([
        "Código;DNI;Nro acuerdo;Fecha de firma;Hasta;Lugar;Promotor;Beneficios",
        f"F-1;;A-17;{_day(old)};{_day(old + timedelta(days=364))};Alto Perú;Wilmer Soto;"
        "coffee_seedlings 500",
        f';45678912;A-18;{recent.isoformat()};;;;"coffee_seedlings 1000; medical_kit 1"',
    ]) + "\n", "cp1252")
    dry = _run(central, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 rows: 2 new, 0 already here, 0 invalid" in dry.output
    assert _agreements(central) == []  # a dry run keeps nothing
    result = _run(central, path)
    assert result.exit_code == 0, result.output
    assert "imported 2 agreements signed on paper" in result.output
    made = _agreements(central)
    assert [(m[0], m[1], m[2], m[3]) for m in made] == [
        (families["F-1"], "completed", True, old), (families["F-2"], "active", True, recent)]
    first, second = made
    assert first[4] == old + timedelta(days=364)
    assert second[4] > recent  # the program's default period from the signing day
    assert all(m[5] for m in made)  # content frozen and hashed, as signed on a tablet
    assert "A-17" in first[6]
    assert first[7] == [("coffee_seedlings", "500.00")]
    assert second[7] == [("coffee_seedlings", "1000.00"), ("medical_kit", "1.00")]
    assert first[8] > 0  # the catalogue's commitments
    assert "Wilmer Soto" in first[9]
    assert "Juan Huamán Cieza" in second[9]
    # The same file again changes nothing.
    again = _run(central, path)
    assert again.exit_code == 0, again.output
    assert "imported 0 agreements" in again.output
    assert "2 already here" in again.output
    assert len(_agreements(central)) == 2
    with central.app_context():
        from fieldapp.audit.models import AuditEntry

        assert db.session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "status:signed")).scalar_one() == 2


def test_bad_rows_are_refused_with_their_reason_and_the_rest_imported(app_factory, tmp_path):
    central, families = _central(app_factory)
    today = date.today()
    recent = today - timedelta(days=30)
    path = _write(tmp_path, "\n".join([
        "familia,fecha de firma,beneficios",
        f"F-9,{_day(recent)},",                                  # no such family
        "F-1,31/02/2024,",                                      # not a date
        f"F-1,{_day(today + timedelta(days=3))},",               # in the future
        f"F-1,{_day(recent)},plátanos 3",                        # not in the catalogue
        "F-2,=HOY(),",                                          # a formula
        f"F-3,{_day(recent)},",                                  # fine
        f"F-3,{_day(recent)},",                                  # the same, twice
        f"F-3,{_day(recent + timedelta(days=2))},",              # overlaps row 7's
    ]) + "\n")
    result = _run(central, path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()

    def row(n: int) -> str:
        return next(line for line in lines if line.startswith(f"row {n}:"))

    # The reasons in Spanish, as the preview gives them.
    assert "No hay ninguna familia con código F-9" in row(2)
    assert "No es una fecha: 31/02/2024" in row(3)
    assert "futuro" in row(4)
    assert "plátanos" in row(5)
    assert "fórmula" in row(6)
    assert "fila 7" in row(8)
    assert row(9).startswith("row 9: invalid")
    assert "acuerdo" in row(9)  # overlaps the agreement of row 7: amend or renew it
    assert "imported 1 agreements" in result.output
    assert [(m[0], m[1]) for m in _agreements(central)] == [(families["F-3"], "active")]


@pytest.mark.parametrize("header", ["nombre,apellido", "familia,lugar"])
def test_a_file_without_whose_or_when_is_refused(app_factory, tmp_path, header):
    central, _families = _central(app_factory)
    result = _run(central, _write(tmp_path, header + "\nx,y\n"))
    assert result.exit_code == 1
    assert "Nothing was imported" in result.output
    assert _agreements(central) == []


def test_the_screen_previews_then_imports_once(app_factory, tmp_path):
    from cyclekit import login

    central, families = _central(app_factory)
    recent = date.today() - timedelta(days=10)
    body = f"DNI,Fecha de firma\n04567891,{_day(recent)}\n99999999,{_day(recent)}\n"
    staff = login(central, "field_staff")
    assert staff.get("/families/import/agreements").status_code == 403
    coordinator = login(central, "coordinator")
    assert "/families/import/agreements" in coordinator.get("/families/").get_data(as_text=True)
    import io

    sent = coordinator.post("/families/import/agreements", data={
        "file": (io.BytesIO(body.encode()), "acuerdos.csv")},
        content_type="multipart/form-data")
    assert sent.status_code == 302
    page = coordinator.get(sent.headers["Location"], headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 filas: 1 nuevas, 0 ya están, 1 no válidas." in html
    assert "99999999" in html
    assert _agreements(central) == []  # the preview keeps nothing
    done = coordinator.post(sent.headers["Location"], data={"action": "import"})
    assert done.status_code == 302
    made = _agreements(central)
    assert [(m[0], m[1]) for m in made] == [(families["F-1"], "active")]
    # The upload is gone once imported.
    assert coordinator.get(sent.headers["Location"]).status_code == 404
