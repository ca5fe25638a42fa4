"""Each row of a register, judged: new, already here, possible duplicate, or invalid (with the
reason per cell, in Spanish). The preview shows the verdicts; the import
(:mod:`.operations`) walks the same verdicts and registers the new families, so what the
coordinator confirmed is what is imported.

- **Already here**: the family's code, its DNI, or its exact name in the same community is a
  live family's (so importing the same file again changes nothing).
- **Possible duplicate**: the families' own rule (:func:`fieldapp.families.duplicates.compare`,
  blocked by :func:`~fieldapp.families.duplicates.block_keys`) finds a family like it, already
  registered or on an earlier row of the file. Not imported unless the coordinator says so.
- **Invalid**: a value breaks the family form's rules (:func:`fieldapp.families.operations.
  family_problems`, the one implementation), or cannot be read: a formula, a DNI that lost its
  leading zero in a spreadsheet, a number that is not one, a DNI twice in the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.duplicates import Registration, block_keys, compare, name_tokens
from fieldapp.families.models import Family
from fieldapp.families.operations import (
    clean_family_data,
    dni_format_problem,
    family_problems,
)
from fieldapp.families.queries import community_neighbours
from fieldapp.imports.columns import FAMILY_COLUMNS, FIELDS, IGNORE, Columns, normalise
from fieldapp.imports.reading import Cell, ImportRefused, read_rows

VERDICTS = ("new", "existing", "duplicate", "invalid")
SHOWN_ROWS = 300  # rows the preview lists (every count is of the whole file)
_NUMBERS = {"members_count", "lat", "lon", "plot_ha", "forest_ha", "coffee_ha"}
_YES = {"si", "s", "yes", "y", "true", "verdadero", "1", "x"}
_NO = {"no", "n", "false", "falso", "0"}


@dataclass
class RowVerdict:
    """One row of the file as the preview shows it."""

    number: int
    verdict: str
    values: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)
    note: str = ""
    new_community: str | None = None  # the key of a community the file would create


@dataclass
class Preview:
    """What the file holds, judged."""

    headers: list[str]
    mapping: list[str]
    header_number: int
    counts: Counter = field(default_factory=Counter)
    rows: list[RowVerdict] = field(default_factory=list)
    #: Communities the file names that do not exist: ``{code: [name, rows]}``.
    new_communities: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, verdict: RowVerdict) -> None:
        """Count a row's verdict; list it while fewer than :data:`SHOWN_ROWS` are."""
        self.counts[verdict.verdict] += 1
        if len(self.rows) < SHOWN_ROWS:
            self.rows.append(verdict)


def data_rows(head: list[tuple[int, list[Any]]], at: int,
              rest: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    """The rows after the header (``head[at]``), empty ones left out."""
    for number, cells in head[at + 1:]:
        if any(c is not None for c in cells):
            yield number, cells
    for number, cells in rest:
        if any(c is not None for c in cells):
            yield number, cells


def column_letter(index: int) -> str:
    """``0`` → ``A``, ``27`` → ``AB``: how a spreadsheet names a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def community_code_for(name: str) -> str:
    """A code for a community the file names without one: its name in capitals, 20 at most."""
    return normalise(name).upper()[:20] or "COM"


class _Register:
    """The live families and communities, read once, and the file's rows added as they come."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.dnis: dict[str, str] = {}
        #: (name, community) -> (code, DNI) of the first family with that name there.
        self.names: dict[tuple, tuple[str, str | None]] = {}
        self.blocks: dict[str, list[tuple[Registration, str]]] = {}
        #: The same blocks holding only the families without a DNI: a row with a DNI is
        #: compared with those alone (the same DNI is found by ``dnis``; two different DNIs are
        #: two people, whatever the names, see ``families.duplicates``).
        self.blocks_without_dni: dict[str, list[tuple[Registration, str]]] = {}
        rows = db.session.execute(select(
            Family.id, Family.code, Family.community_id, Family.head_given_names,
            Family.head_surname, Family.dni, Family.phone, Family.lat, Family.lon,
        ).where(Family.voided.is_(False)))
        for r in rows:
            self.add(Registration(r.id, r.community_id, r.head_given_names, r.head_surname,
                                  r.dni, r.phone, r.lat, r.lon), r.code)
        self.neighbours = community_neighbours()
        self.communities_by_code: dict[str, Any] = {}
        self.communities_by_name: dict[str, Any] = {}
        # Held for the whole import: the family rules' ``session.get`` of a community then
        # finds it in the session instead of asking the database for every row.
        self.held = list(db.session.execute(select(Community).where(
            Community.voided.is_(False))).scalars())
        for c in self.held:
            self.communities_by_code[normalise(c.code)] = c.id
            self.communities_by_name.setdefault(normalise(c.name), c.id)

    @staticmethod
    def name_key(reg: Registration) -> tuple:
        return (tuple(name_tokens(reg.given, reg.surname)), str(reg.community_id))

    def add(self, reg: Registration, code: str, keys: set[str] | None = None) -> None:
        self.codes.setdefault(code.upper(), code)
        if reg.dni:
            self.dnis.setdefault(reg.dni, code)
        self.names.setdefault(self.name_key(reg), (code, reg.dni))
        for key in block_keys(reg) if keys is None else keys:
            self.blocks.setdefault(key, []).append((reg, code))
            if not reg.dni:
                self.blocks_without_dni.setdefault(key, []).append((reg, code))

    def similar(self, reg: Registration, keys: set[str] | None = None) -> str | None:
        """The code (or row) of the best-matching family, by the duplicates rule, for a row
        whose DNI (if any) no family holds; ``keys``: its :func:`block_keys`."""
        best: tuple[float, str] | None = None
        seen: set[int] = set()
        blocks = self.blocks_without_dni if reg.dni else self.blocks
        for key in block_keys(reg) if keys is None else keys:
            for other, code in blocks.get(key, ()):
                if id(other) in seen:
                    continue
                seen.add(id(other))
                match = compare(reg, other, self.neighbours)
                if match is not None and (best is None or match.score > best[0]):
                    best = (match.score, code)
        return best[1] if best else None


def read_number(text: str) -> float:
    """A number written either way: ``2,5``, ``2.5``, ``1.234,5``, ``1,234.5``."""
    text = text.replace(" ", "")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "").replace(",", ".")
    else:
        text = text.replace(",", ".")
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _read_values(cells: dict[str, Any], problems: dict[str, str]) -> dict[str, Any]:
    """The row's cells as the family form's values; what cannot be read goes to ``problems``."""
    values: dict[str, Any] = {}
    for name, cell in cells.items():
        if cell is None:
            values[name] = None
            continue
        text = str(cell).strip()
        if isinstance(cell, Cell) and cell.kind == "formula":
            problems[name] = _("This cell holds a formula (%(formula)s): type its value "
                               "instead.", formula=text[:40])
            values[name] = None
        elif name == "dni":
            values[name] = _dni(cell, text, problems)
        elif name in _NUMBERS:
            try:
                number = read_number(text)
            except ValueError:
                problems[name] = _("Not a number: %(value)s.", value=text[:40])
                number = None
            if name == "members_count" and number is not None:
                if not number.is_integer():
                    problems[name] = _("A whole number: %(value)s.", value=text[:40])
                values[name] = int(number)
            else:
                values[name] = number
        elif name == "data_consent":
            key = normalise(text)
            if key not in _YES | _NO:
                problems[name] = _("Write sí or no: %(value)s.", value=text[:40])
            values[name] = key in _YES
        else:
            values[name] = text
    return values


def _dni(cell: Any, text: str, problems: dict[str, str]) -> str:
    digits = text.replace(" ", "")
    if re.fullmatch(r"[0-9]+\.0+", digits):  # a number written by a spreadsheet: 1234567.0
        digits = digits.split(".")[0]
        cell = Cell(digits, "number")
    if re.fullmatch(r"[0-9]{1,7}", digits) and (
            len(digits) == 7 or (isinstance(cell, Cell) and cell.kind == "number")):
        problems["dni"] = _(
            "This DNI has %(count)s digits: the spreadsheet read it as a number and dropped "
            "its leading zeros (was it %(dni)s?). Format the column as text and type the 8 "
            "digits.", count=len(digits), dni=digits.zfill(8))
    return digits


def read_header(rows: Iterator[tuple[int, list[Any]]], columns: Columns = FAMILY_COLUMNS
                ) -> tuple[list[tuple[int, list[Any]]], int, list[str], list[str]]:
    """The first rows read, which of them is the header, the columns' names (an empty title
    named by its letter) and the fields guessed from them."""
    head: list[tuple[int, list[Any]]] = []
    for item in rows:
        head.append(item)
        if len(head) == 3:
            break
    if not head:
        raise ImportRefused("empty", _("The file is empty."))
    at = columns.header_row(head)
    cells = head[at][1]
    width = max(len(c) for _n, c in head)
    cells = [*cells, *[None] * (width - len(cells))]
    headers = [str(c) if c is not None else _("(column %(letter)s, no title)",
                                               letter=column_letter(i))
               for i, c in enumerate(cells)]
    return head, at, headers, [columns.guess(None if c is None else str(c)) for c in cells]


def headers_of(path: Path, columns: Columns = FAMILY_COLUMNS) -> tuple[list[str], list[str]]:
    """The file's column names and the fields guessed from them (before any row is judged)."""
    with force_locale("es"):
        _head, _at, headers, guessed = read_header(read_rows(path), columns)
    return headers, guessed


def check_once(mapping: list[str], headers: list[str], fields: dict[str, Any]) -> None:
    """Each field read from one column at most.

    :raises ImportRefused: ``column_twice``.
    """
    chosen = [m for m in mapping if m != IGNORE]
    if len(chosen) != len(set(chosen)):
        twice = next(m for m in chosen if chosen.count(m) > 1)
        raise ImportRefused("column_twice", _(
            "Two columns are read as %(field)s: choose one.", field=str(fields[twice])),
            headers=headers, mapping=mapping)


def check_mapping(mapping: list[str], headers: list[str]) -> None:
    """Each field read from one column at most; the head's names read from some column.

    :raises ImportRefused: ``column_twice``, ``names_missing``.
    """
    check_once(mapping, headers, FIELDS)
    chosen = [m for m in mapping if m != IGNORE]
    if "head_given_names" not in chosen or "head_surname" not in chosen:
        raise ImportRefused("names_missing", _(
            "No column holds the given names and the surnames of the head of household "
            "(head_given_names, head_surname): say which ones do."), headers=headers,
            mapping=mapping)


def judge(path: Path, mapping: list[str] | None = None,
          confirmed: set[str] | None = None) -> Iterator[tuple[Preview, RowVerdict]]:
    """Every data row of the file with its verdict (the preview being filled as it goes).

    :param mapping: the field of each column (:data:`IGNORE` to leave it out); ``None``:
        guessed from the headers.
    :param confirmed: codes of new communities the coordinator confirmed (their rows are
        judged as new; the others' rows too, but flagged).
    :raises ImportRefused: the file cannot be read, or is too large.
    """
    with force_locale("es"):
        rows = read_rows(path)
        head, at, headers, guessed = read_header(rows)
        mapping = [m if m in FIELDS else IGNORE for m in (mapping or guessed)]
        mapping = (mapping + [IGNORE] * len(headers))[:len(headers)]
        check_mapping(mapping, headers)
        header_number = head[at][0]
        preview = Preview(headers, mapping, header_number)
        register = _Register()
        confirmed = confirmed or set()

        for number, cells in data_rows(head, at, rows):
            verdict = _judge_row(number, cells, mapping, register, confirmed, preview)
            preview.add(verdict)
            yield preview, verdict


def _community(code: str | None, name: str | None, register: _Register, preview: Preview
               ) -> tuple[Any, str | None]:
    """The row's community: ``(id, None)`` when it exists (by code, else by name), ``(None,
    key)`` when the file would create it, ``(None, None)`` when the row names none."""
    if code and normalise(code) in register.communities_by_code:
        return register.communities_by_code[normalise(code)], None
    if name and normalise(name) in register.communities_by_name:
        return register.communities_by_name[normalise(name)], None
    if not (code or name):
        return None, None
    key = (code or community_code_for(name or "")).upper()
    entry = preview.new_communities.setdefault(key, [name or key, 0])
    entry[1] += 1
    return None, key


def _judge_row(number: int, cells: list[Any], mapping: list[str], register: _Register,
               confirmed: set[str], preview: Preview) -> RowVerdict:
    problems: dict[str, str] = {}
    by_field = {f: (cells[i] if i < len(cells) else None) for i, f in enumerate(mapping)
                if f != IGNORE}
    values = _read_values(by_field, problems)
    code = (values.pop("family_code", None) or "").upper()
    community_id, new_community = _community(values.pop("community_code", None),
                                             values.pop("community_name", None), register,
                                             preview)
    values["community_id"] = community_id
    clean = clean_family_data(values)
    reg = Registration(None, community_id or new_community, clean["head_given_names"] or "",
                       clean["head_surname"] or "", clean["dni"], clean["phone"], clean["lat"],
                       clean["lon"])
    verdict = RowVerdict(number, "new", clean, new_community=new_community)
    found = (register.codes.get(code) if code else None) or \
        (register.dnis.get(clean["dni"]) if clean["dni"] and "dni" not in problems else None)
    if found is None and clean["head_given_names"] and clean["head_surname"]:
        # The same name in the same community is the family already here — unless both have
        # a DNI and they differ: two people (the duplicates rule).
        named, dni = register.names.get(register.name_key(reg), (None, None))
        if named is not None and not (dni and clean["dni"] and dni != clean["dni"]):
            found = named
    if found is not None and not found.startswith("#"):
        verdict.verdict, verdict.note = "existing", found
        return verdict
    if found is not None:  # an earlier row of the file
        problems.setdefault("dni" if clean["dni"] else "head_surname", _(
            "The same family is on row %(row)s of the file.", row=found[1:]))
    if clean["dni"] and "dni" not in problems and (
            problem := dni_format_problem(clean["dni"])) is not None:
        problems["dni"] = str(problem)
    # The form's rules on the values; what needs the database is known here already (the
    # community was found in the register, a DNI held by a family made the row "already here").
    for name, message in family_problems(clean, stored=False).items():
        problems.setdefault(name, str(message))
    if community_id is None and new_community is None:
        problems.setdefault("community_name", _("Choose a community."))
    if new_community and new_community not in confirmed:
        verdict.note = _("New community %(name)s: created only if you confirm it.",
                         name=preview.new_communities[new_community][0])
    if problems:
        verdict.verdict, verdict.problems = "invalid", problems
        return verdict
    keys = block_keys(reg)
    twin = register.similar(reg, keys)
    register.add(reg, f"#{number}", keys)
    if twin is not None:
        verdict.verdict = "duplicate"
        verdict.note = _("May be family %(code)s.", code=twin) if not twin.startswith("#") \
            else _("May be the family on row %(row)s.", row=twin[1:])
    return verdict


def preview_file(path: Path, mapping: list[str] | None = None,
                 confirmed: set[str] | None = None) -> Preview:
    """The whole file judged (rows listed up to :data:`SHOWN_ROWS`, counted all)."""
    preview = None
    for current, _verdict in judge(path, mapping, confirmed):
        preview = current
    if preview is None:
        raise ImportRefused("no_rows", _l("The file has a header but no rows."))
    return preview
