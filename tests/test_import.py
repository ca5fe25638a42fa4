"""Importing a register: the export read back, the same file twice, every kind of bad file,
through the CLI and the upload screen."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.families.models import Family

COMPARED = ("head_given_names", "head_surname", "community_code", "community_name", "dni",
            "members_count", "phone", "lat", "lon", "plot_name", "plot_ha", "forest_ha",
            "coffee_ha", "data_consent")


def _families_export(app) -> list[dict[str, str]]:
    import csv
    import io

    from fieldapp.dashboard.entities import ENTITIES
    from fieldapp.dashboard.exports import stream_csv
    from fieldapp.dashboard.filters import all_records

    with app.test_request_context():
        text = b"".join(stream_csv(ENTITIES["families"], all_records())).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Family)).scalar_one()


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["import", "families", *map(str, args)])


def _write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(tmp_path: Path, rows: list[list[Any]], merge: str | None = None,
          name: str = "r.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    path = tmp_path / name
    workbook.save(path)
    return path


def test_the_families_export_imported_into_an_empty_central_gives_the_same_families(
        app_factory, tmp_path):
    source = app_factory(demo=True, ROLE="central")
    exported = _families_export(source)
    path = _write(tmp_path, "\ufeff" + ",".join(exported[0]) + "\n" + "".join(
        ",".join(f'"{r[k]}"' if "," in r[k] else r[k] for k in exported[0]) + "\n"
        for r in exported))
    empty = app_factory(ROLE="central")
    result = _run(empty, path, "--create-communities", "--include-duplicates")
    assert result.exit_code == 0, result.output
    assert f"imported {len(exported)} families" in result.output
    imported = _families_export(empty)

    def key(rows):
        return sorted(tuple(r[k] for k in COMPARED) for r in rows)

    assert key(imported) == key(exported)
    again = _run(empty, path, "--create-communities", "--include-duplicates")
    assert again.exit_code == 0, again.output
    assert "imported 0 families, 0 communities" in again.output
    assert f"{len(exported)} already here" in again.output
    assert _count(empty) == len(exported)


def test_latin1_semicolons_decimal_commas_formulas_and_a_dni_that_lost_its_zero(
        app, make_community, tmp_path):
    make_community(code="SJ", name="San José")
    path = _write(tmp_path, (
        "Nombres;Apellidos;Comunidad;DNI;Miembros;Parcela (ha);Bosque ha;Otra cosa\n"
        "Ana;Tuanama Pérez;San José;01234567;4;2,5;1,5;x\n"
        "Rosa;Huamán;San Jose;1234567;3;;;\n"
        "Luz;=HYPERLINK(\"http://x\");San José;;2;;;\n"
        "Eva;Vela;San José;;dos;;;\n"
    ), encoding="cp1252")
    dry = _run(app, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "4 rows: 1 new, 0 already here, 0 possible duplicate, 3 invalid" in dry.output
    assert "columns left out: Otra cosa" in dry.output
    assert "row 3: invalid — dni: Este DNI tiene 7 cifras" in dry.output
    assert "¿era 01234567?" in dry.output
    assert "row 4: invalid — head_surname: Esta celda tiene una fórmula" in dry.output
    assert "row 5: invalid — members_count: No es un número: dos." in dry.output
    assert _count(app) == 0
    done = _run(app, path)
    assert "imported 1 families" in done.output
    with app.app_context():
        ana = db.session.execute(select(Family)).scalar_one()
        assert (ana.head_surname, ana.plot_ha, ana.forest_ha) == ("Tuanama Pérez", 2.5, 1.5)


def test_utf8_with_a_bom_and_new_communities_only_when_confirmed(app, tmp_path):
    path = _write(tmp_path, "\ufeffhead_given_names,head_surname,community_code,community_name,"
                  "members_count\nAna,Vela,NE,Nueva Esperanza,3\nLuz,Vela,NE,Nueva Esperanza,2\n"
                  "Eva,Ríos,AL,Alto Loma,4\n")
    result = _run(app, path)
    assert "new community NE (Nueva Esperanza), 2 rows: not created" in result.output
    assert "imported 0 families, 0 communities" in result.output
    assert "3 of unconfirmed communities" in result.output
    result = _run(app, path, "--create-community", "NE")
    assert "imported 2 families, 1 communities" in result.output
    from fieldapp.communities.models import Community

    with app.app_context():
        names = db.session.execute(select(Community.code, Community.name)).all()
    assert [tuple(n) for n in names] == [("NE", "Nueva Esperanza")]


def test_xlsx_with_a_merged_title_numbers_and_formulas(app, make_community, tmp_path):
    make_community(code="SJ", name="San José")
    path = _xlsx(tmp_path, [
        ["Padrón 2025", None, None, None, None],
        ["Nombres", "Apellidos", "Comunidad", "DNI", "Miembros"],
        ["Ana", "Tuanama", "San José", "01234567", 4],
        ["Rosa", "Huamán", "San José", 1234567, 3],
        ["Luz", "Vela", "San José", "87654321", "=2+2"],
        ["Eva", "Ríos", "SAN JOSE", 87654322, 2.0],
    ], merge="A1:E1")
    result = _run(app, path)
    assert result.exit_code == 0, result.output
    assert "4 rows: 2 new, 0 already here, 0 possible duplicate, 2 invalid" in result.output
    assert "row 4: invalid — dni: Este DNI tiene 7 cifras" in result.output
    assert "row 5: invalid — members_count: Esta celda tiene una fórmula (=2+2)" in result.output
    with app.app_context():
        dnis = set(db.session.execute(select(Family.dni)).scalars())
    assert dnis == {"01234567", "87654322"}


def test_a_free_form_header_is_mapped_and_an_unnamed_column_is_named_by_its_letter(
        app, make_community, tmp_path):
    make_community(code="SJ", name="San José")
    path = _xlsx(tmp_path, [
        ["Nombre del jefe", "Apellidos", None, "Comunidad", "Miembros"],
        ["Ana", "Tuanama", "nota", "San José", 3],
    ])
    refused = _run(app, path, "--dry-run")
    assert refused.exit_code != 0
    assert "Ninguna columna tiene los nombres" in refused.output
    result = _run(app, path, "--map", "Nombre del jefe=head_given_names")
    assert "imported 1 families" in result.output, result.output
    assert "(columna C, sin título)" in result.output


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked(app, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (40 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    result = _run(app, path)
    assert result.exit_code != 0
    assert "se descomprime en mucho más que su tamaño" in result.output
    assert "Nothing was imported" in result.output


def test_a_file_with_too_many_rows_is_refused_whole(app, make_community, tmp_path):
    make_community(code="SJ", name="San José")
    lines = "".join(f"Nombre{i},Apellido{i},SJ\n" for i in range(200_000))
    path = _write(tmp_path, "head_given_names,head_surname,community_code\n" + lines)
    result = _run(app, path)
    assert result.exit_code != 0
    assert "El archivo tiene más de 50.000 filas" in result.output
    assert _count(app) == 0


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary", b"PK\x03\x04broken zip", b""])
def test_unreadable_files_get_a_clear_message(app, tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    result = _run(app, path)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "Nothing was imported" in result.output


def test_a_failure_midway_imports_nothing(app, make_community, tmp_path, monkeypatch):
    make_community(code="SJ", name="San José")
    path = _write(tmp_path, "head_given_names,head_surname,community_code,members_count\n" +
                  "".join(f"Ana{i},Vela{i},SJ,3\n" for i in range(1200)))
    from fieldapp.errors import ValidationFailed
    from fieldapp.imports import operations

    real = operations.create_families
    calls = []

    def failing(rows):
        calls.append(len(rows))
        if len(calls) == 2:  # the second batch: the first is already written
            raise ValidationFailed("boom")
        return real(rows)

    monkeypatch.setattr(operations, "create_families", failing)
    result = _run(app, path)
    assert result.exit_code != 0
    assert len(calls) == 2
    assert _count(app) == 0


def test_the_batch_registration_keeps_the_family_rules(app, make_community, make_family):
    from fieldapp.errors import ValidationFailed
    from fieldapp.families.operations import create_families

    community = make_community()
    make_family(dni="12345678", community_id=community)
    base = {"head_given_names": "Ana", "head_surname": "Vela", "members_count": 2,
            "community_id": community}
    with app.test_request_context():
        for rows, field in (
            ([{**base, "dni": "12345678"}], "dni"),
            ([{**base, "dni": "22223333"}, {**base, "dni": "22223333"}], "dni"),
            ([{**base, "dni": "123"}], "dni"),
            ([{**base, "members_count": 0}], "members_count"),
            ([{**base, "community_id": None}], "community_id"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                create_families(rows)
            assert refused.value.details["field"] == field
        ids = create_families([{**base, "dni": "22223333"}, {**base, "head_given_names": "Eva"}])
        db.session.commit()
        codes = [db.session.get(Family, i).code for i in ids]
    assert codes == ["AM-TST-0002", "AM-TST-0003"]


def test_the_upload_screen_previews_maps_and_imports(app, auth, client, make_community,
                                                      make_family, tmp_path):
    community = make_community(code="SJ", name="San José")
    make_family(head_given_names="Rosa", head_surname="Huamán Tuanama", dni="11112222",
                community_id=community)
    auth.login("coordinator")
    content = ("Jefe;Apellidos;Comunidad;DNI;Miembros\n"
               "Ana;Tuanama;San José;01234567;3\n"
               "Rosa;Huamán Tuanama;San José;11112222;4\n"
               "Rosa;Guamán Tuanama;San José;;4\n"
               "Eva;Ríos;Nueva Esperanza;;2\n").encode("cp1252")
    import io

    upload = client.post("/families/import/", data={"file": (io.BytesIO(content), "p.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302
    url = upload.headers["Location"]
    page = client.get(url)
    assert page.status_code == 422  # no column holds the given names yet
    assert "Ninguna columna tiene los nombres" in page.get_data(as_text=True) or \
        "No column holds" in page.get_data(as_text=True)
    mapping = {"map-0": "head_given_names", "map-1": "head_surname", "map-2": "community_name",
               "map-3": "dni", "map-4": "members_count"}
    page = client.post(url, data={**mapping, "action": "preview"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="verdict-new"' in text
    assert 'class="verdict-existing"' in text
    assert 'class="verdict-duplicate"' in text
    assert "Nueva Esperanza" in text
    done = client.post(url, data={**mapping, "action": "import", "community": "NUEVAESPERANZA"})
    assert done.status_code == 302
    with app.app_context():
        names = set(db.session.execute(select(Family.head_given_names)).scalars())
    assert names == {"Rosa", "Ana", "Eva"}
    assert client.get(url).status_code == 404  # the upload is gone once imported


def test_field_staff_cannot_import(app, auth, client):
    import io

    auth.login("field_staff")
    assert client.get("/families/import/").status_code == 403
    sent = client.post("/families/import/", data={"file": (io.BytesIO(b"a,b\n"), "p.csv")},
                       content_type="multipart/form-data")
    assert sent.status_code == 403
    assert client.get("/families/import/" + "0" * 32).status_code == 403


def test_a_row_with_a_dni_is_a_possible_duplicate_only_of_families_without_one(
        app, make_community, make_family, tmp_path):
    """The duplicates rule on each row: a family without a DNI and a row like it with one may
    be one family; two different DNIs are two people, however alike the names."""
    from fieldapp.imports.preview import preview_file

    community = make_community(code="C001", name="San José")
    make_family(head_given_names="Rosa", head_surname="Huamán Tuanama", dni=None,
                community_id=community)
    make_family(head_given_names="Juan", head_surname="Vela Ríos", dni="41112222",
                community_id=community)
    path = _write(tmp_path, "head_given_names,head_surname,community_code,dni,members_count\n"
                            "Rosa,Guamán Tuanama,C001,43334444,3\n"
                            "Juan,Vela Rios,C001,45556666,2\n")
    with app.test_request_context():
        preview = preview_file(path)
    assert [r.verdict for r in preview.rows] == ["duplicate", "new"]
