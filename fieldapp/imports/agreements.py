"""Agreements signed on paper before fieldapp, imported from a list (CSV or XLSX) through the
same path as the register: upload, a preview with every row's verdict, confirm, one
transaction (``fieldapp import agreements FILE [--dry-run]`` from a shell).

Each new row becomes what a promotor would have made of the paper: a draft of the family's
agreement with the catalogue's commitments and the benefits the row lists, signed on paper on
the date written on it (:func:`fieldapp.agreements.signing.sign_agreement`, the one signing
rule: its content frozen and hashed), then activated when its period has begun and completed
when it has ended (:func:`fieldapp.agreements.transitions.change_status`). No rule is skipped:
a family that left the program, an overlapping agreement, a date in the future are refused
with the row's number.

- **Already here**: the family has an agreement signed on paper on that date (importing the
  same file again changes nothing).
- **Invalid**: no family with that code or DNI, an unreadable date, a benefit not in the
  catalogue, a formula, the same family and date twice in the file, or a rule of the
  agreement broken (found when the row is tried, in the preview already).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.agreements.models import Agreement, BenefitType
from fieldapp.agreements.operations import create_agreement
from fieldapp.agreements.queries import catalogue_commitments
from fieldapp.agreements.rules import default_period
from fieldapp.agreements.signing import sign_agreement
from fieldapp.agreements.transitions import change_status
from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.imports.columns import IGNORE, Columns, normalise
from fieldapp.imports.preview import (
    Preview,
    RowVerdict,
    check_once,
    data_rows,
    read_header,
    read_number,
)
from fieldapp.imports.reading import Cell, ImportRefused, read_rows
from fieldapp.submissions import local_date, local_today
from sync.storage.fastsql import begin_write, is_sqlite

#: The fields a row of paper agreements may fill.
FIELDS: dict[str, Any] = {
    "family_code": _l("Family"),
    "dni": _l("DNI"),
    "paper_number": _l("Number on the paper"),
    "signed_on": _l("Signed on"),
    "period_start": _l("Period starts"),
    "period_end": _l("Period ends"),
    "signed_place": _l("Place"),
    "family_name": _l("Signed by (family)"),
    "staff_name": _l("Signed for the program by"),
    "benefits": _l("Benefits"),
    "notes": _l("Notes"),
}
ALIASES: dict[str, str] = {
    "codigo": "family_code", "codigofamilia": "family_code", "familia": "family_code",
    "dni": "dni", "documento": "dni", "nrodni": "dni",
    "numero": "paper_number", "nro": "paper_number", "numeroacuerdo": "paper_number",
    "nroacuerdo": "paper_number", "acuerdo": "paper_number", "numerodeacuerdo": "paper_number",
    "fechafirma": "signed_on", "fechadefirma": "signed_on", "firmado": "signed_on",
    "firmadoel": "signed_on", "fecha": "signed_on",
    "inicio": "period_start", "fechainicio": "period_start", "desde": "period_start",
    "iniciodelperiodo": "period_start",
    "fin": "period_end", "fechafin": "period_end", "hasta": "period_end",
    "findelperiodo": "period_end",
    "lugar": "signed_place", "lugardefirma": "signed_place",
    "firmante": "family_name", "firmadopor": "family_name", "titular": "family_name",
    "promotor": "staff_name", "responsable": "staff_name", "firmaporelprograma": "staff_name",
    "beneficios": "benefits", "notas": "notes", "observaciones": "notes",
}
COLUMNS = Columns(FIELDS, ALIASES)
VERDICTS = ("new", "existing", "invalid")
_DAY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def _day(text: str) -> date:
    """``2024-03-15`` (ISO, as a spreadsheet's date cell is read) or ``15/03/2024`` (day
    first, as written in Peru).

    :raises ValueError: neither.
    """
    try:
        return date.fromisoformat(text[:10]) if re.match(r"\d{4}-", text) else \
            date(*reversed([int(p) for p in _DAY.fullmatch(text).groups()]))  # type: ignore[union-attr]
    except (AttributeError, TypeError):
        raise ValueError(text) from None


def _benefits(text: str, catalogue: dict[str, BenefitType],
              problems: dict[str, str]) -> list[dict[str, Any]]:
    """``CAFE 200; ABONO 2,5`` (a benefit's code or Spanish name, then the quantity; one
    benefit per line of the cell also does)."""
    rows = []
    for n, part in enumerate(p.strip() for p in re.split(r"[;\n]", text)):
        if not part:
            continue
        name, _sep, quantity = part.rpartition(" ")
        btype = catalogue.get(normalise(name))
        if btype is None:
            problems["benefits"] = _("Not a benefit of the catalogue: %(name)s.",
                                     name=(name or part)[:40])
            return []
        try:
            amount = Decimal(str(read_number(quantity)))
        except ValueError:
            problems["benefits"] = _("Not a number: %(value)s.", value=quantity[:40])
            return []
        rows.append({"benefit_type_id": btype.id, "quantity": amount,
                     "unit": btype.default_unit, "field": f"benefits_{n}"})
    return rows


class _Known:
    """What the rows are judged against, read once: families by code and DNI, the paper
    agreements' (family, date), the catalogues."""

    def __init__(self) -> None:
        self.by_code: dict[str, Any] = {}
        self.by_dni: dict[str, Any] = {}
        for fid, code, dni in db.session.execute(select(Family.id, Family.code, Family.dni).where(
                Family.voided.is_(False))):
            self.by_code[code.upper()] = fid
            if dni:
                self.by_dni[dni] = fid
        self.signed: dict[tuple[Any, date], str] = {}
        for fid, signed_at, number in db.session.execute(select(
                Agreement.family_id, Agreement.signed_at, Agreement.number).where(
                Agreement.voided.is_(False), Agreement.signed_on_paper.is_(True),
                Agreement.signed_at.is_not(None))):
            self.signed.setdefault((fid, local_date(signed_at)), number)
        self.rows: dict[tuple[Any, date], int] = {}
        self.benefits: dict[str, BenefitType] = {}
        for b in db.session.execute(select(BenefitType).where(
                BenefitType.voided.is_(False))).scalars():
            self.benefits[normalise(b.code)] = b
            self.benefits.setdefault(normalise(b.name_es), b)
        self.commitments = [c.id for c in catalogue_commitments(active_only=True)]


def _read(cells: dict[str, Any], problems: dict[str, str], known: _Known) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, cell in cells.items():
        text = "" if cell is None else str(cell).strip()
        if isinstance(cell, Cell) and cell.kind == "formula":
            problems[name] = _("This cell holds a formula (%(formula)s): type its value "
                               "instead.", formula=text[:40])
            text = ""
        if name in ("signed_on", "period_start", "period_end"):
            values[name] = None
            if text:
                try:
                    values[name] = _day(text)
                except ValueError:
                    problems[name] = _("Not a date: %(value)s (write 15/03/2024).",
                                       value=text[:40])
        elif name == "benefits":
            values[name] = _benefits(text, known.benefits, problems) if text else []
        elif name == "dni" and isinstance(cell, Cell) and cell.kind == "number":
            values[name] = text.split(".")[0].zfill(8)  # a number cell lost its zeros
        else:
            values[name] = " ".join(text.split()) or None
    return values


def _family(values: dict[str, Any], known: _Known, problems: dict[str, str]) -> Family | None:
    code = (values.get("family_code") or "").upper()
    dni = values.get("dni")
    fid = known.by_code.get(code) if code else None
    if fid is None and dni:
        fid = known.by_dni.get(dni)
    if fid is None:
        if code or dni:
            problems["family_code"] = _("No family with code %(code)s or DNI %(dni)s.",
                                        code=code or "—", dni=dni or "—")
        else:
            problems["family_code"] = _("Say whose agreement it is: the family's code or DNI.")
        return None
    return db.session.get(Family, fid)


def _terms(values: dict[str, Any], known: _Known) -> dict[str, Any]:
    start = values.get("period_start") or values["signed_on"]
    end = values.get("period_end") or default_period(
        start, "", int(current_app.config["AGREEMENT_PERIOD_MONTHS"]))[1]
    notes = values.get("notes") or ""
    if values.get("paper_number"):
        notes = (_("Signed on paper as number %(number)s.", number=values["paper_number"])
                 + (" " + notes if notes else ""))
    return {"period_start": start, "period_end": end, "commitment_type_ids": known.commitments,
            "benefits": values.get("benefits") or [], "notes": notes,
            "starts_on_signing": False}


def _make(family: Family, values: dict[str, Any], known: _Known, user: Any) -> Agreement:
    """The paper agreement, drafted, signed, activated (and completed) by the one set of
    rules; raises what they raise."""
    agreement = create_agreement(family, _terms(values, known), user)
    db.session.flush()
    sign_agreement(agreement, {
        "mode": "paper", "paper_date": values["signed_on"],
        "family_name": values.get("family_name") or family.head_name,
        "family_dni": family.dni or "",
        "staff_name": values.get("staff_name") or (user.full_name if user else "")
        or _("(imported)"),
        "place": values.get("signed_place"),
    })
    today = local_today()
    if agreement.period_start <= today:
        change_status(agreement, "active")
        if agreement.period_end < today:
            change_status(agreement, "completed",
                          _("Its period ended before it was imported."))
    return agreement


def _problem_of(error: AppError) -> tuple[str, str]:
    field = str(error.details.get("field") or "signed_on")
    if field.startswith("benefits") or field.startswith("qty_"):
        field = "benefits"
    elif field in ("paper_date",):
        field = "signed_on"
    elif field not in FIELDS:
        field = "period_start" if field.startswith("period") else "signed_on"
    return field, str(error.message)


def _judge_row(number: int, cells: list[Any], mapping: list[str], known: _Known,
               user: Any) -> RowVerdict:
    problems: dict[str, str] = {}
    by_field = {f: (cells[i] if i < len(cells) else None) for i, f in enumerate(mapping)
                if f != IGNORE}
    values = _read(by_field, problems, known)
    verdict = RowVerdict(number, "new", values)
    family = _family(values, known, problems)
    if values.get("signed_on") is None and "signed_on" not in problems:
        problems["signed_on"] = _("Enter the date written on the paper.")
    if family is not None:
        values["family"] = f"{family.code} — {family.head_name}"
    if problems or family is None:
        verdict.verdict, verdict.problems = "invalid", problems
        return verdict
    key = (family.id, values["signed_on"])
    if key in known.signed:
        verdict.verdict, verdict.note = "existing", known.signed[key]
        return verdict
    if key in known.rows:
        verdict.verdict = "invalid"
        verdict.problems = {"signed_on": _("The same agreement is on row %(row)s of the file.",
                                           row=known.rows[key])}
        return verdict
    known.rows[key] = number
    # Made for real, in a savepoint, so the preview says what the import will do (every rule
    # of the agreement, none repeated here, and a later row of the file sees the earlier
    # ones): the preview's caller rolls it all back, the import's commits it.
    _in_transaction()
    savepoint = db.session.begin_nested()
    try:
        agreement = _make(family, values, known, user)
        db.session.flush()
    except AppError as error:
        savepoint.rollback()
        field, message = _problem_of(error)
        verdict.verdict, verdict.problems = "invalid", {field: message}
        return verdict
    savepoint.commit()
    verdict.values["agreement"] = agreement.number
    return verdict


def _in_transaction() -> None:
    """Make sure the session's transaction has begun in the database before a savepoint.

    SQLite's Python driver opens a transaction only before a write: a SAVEPOINT taken before
    any write opens one of its own, and releasing that savepoint would COMMIT everything —
    the preview would keep what it tried. The import writes anyway: it takes the write lock
    now (on PostgreSQL the transaction has begun with the first query).
    """
    if is_sqlite(db.session):
        begin_write(db.session)


def judge_agreements(path: Path, mapping: list[str] | None = None,
                     user: Any = None) -> Iterator[tuple[Preview, RowVerdict]]:
    """Every data row with its verdict, each new row's agreement made in the caller's
    transaction: the caller commits once (the import), or rolls everything back (a preview,
    a dry run).

    :raises ImportRefused: the file cannot be read, or is too large, or no column says whose
        agreement a row is or when it was signed.
    """
    with force_locale("es"):
        rows = read_rows(path)
        head, at, headers, guessed = read_header(rows, COLUMNS)
        mapping = [m if m in FIELDS else IGNORE for m in (mapping or guessed)]
        mapping = (mapping + [IGNORE] * len(headers))[:len(headers)]
        check_once(mapping, headers, FIELDS)
        if not {"family_code", "dni"} & set(mapping) or "signed_on" not in mapping:
            raise ImportRefused("columns_missing", _(
                "Say which column holds the family (its code or DNI) and which the date the "
                "agreement was signed."), headers=headers, mapping=mapping)
        preview = Preview(headers, mapping, head[at][0])
        known = _Known()

        for number, cells in data_rows(head, at, rows):
            verdict = _judge_row(number, cells, mapping, known, user)
            preview.add(verdict)
            yield preview, verdict


def preview_agreements(path: Path, mapping: list[str] | None = None,
                       user: Any = None) -> Preview:
    """The whole file judged; nothing kept."""
    preview = None
    try:
        for current, _verdict in judge_agreements(path, mapping, user):
            preview = current
    finally:
        db.session.rollback()
    if preview is None:
        raise ImportRefused("no_rows", _l("The file has a header but no rows."))
    return preview


def import_agreements(path: Path, mapping: list[str] | None = None, user: Any = None,
                      progress: Callable[[int], None] | None = None) -> tuple[Preview, Counter]:
    """Make the file's new agreements in the caller's transaction.

    :returns: the preview and a ``Counter`` (``created``, ``existing``, ``invalid``).
    """
    done: Counter = Counter()
    preview = None
    for current, row in judge_agreements(path, mapping, user):
        preview = current
        done["created" if row.verdict == "new" else row.verdict] += 1
        if progress and row.verdict == "new":
            progress(done["created"])
    if preview is None:
        raise ImportRefused("no_rows", _l("The file has a header but no rows."))
    return preview, done
