"""Reading a register as spreadsheets write it: CSV or XLSX, a row at a time (flat memory).

- **CSV** in UTF-8 (with or without a byte-order mark), or in Windows-1252/Latin-1 as Excel in
  Spanish saves it ("CSV (delimitado por comas)"): the encoding is found by a first pass that
  decodes the file in chunks; the separator (``,`` ``;`` or a tab) is the one the first line
  holds most of.
- **XLSX**: the first sheet, through openpyxl in read-only mode (rows are read from the file,
  not loaded), after the archive's declared sizes are checked (a "zip bomb" of a few KB that
  unpacks to gigabytes is refused before anything is unpacked). A formula is read as its
  text (``=SUM(...)``), never its last computed value, so the preview can say so.
- **Limits**: the file's size and its number of rows (``IMPORT_MAX_BYTES``,
  ``IMPORT_MAX_ROWS``); above them, a clear refusal and nothing imported.

Every cell comes out as text (``None`` when empty) or as a :class:`Cell` that remembers it
was a number or a formula in the spreadsheet.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from fieldapp.errors import AppError

#: An XLSX unpacks to at most this (a real 50,000-row register is some 30 MB unpacked)...
XLSX_MAX_UNPACKED = 300 * 1024 * 1024
#: ...and no part of it unpacks to more than this many times its packed size.
XLSX_MAX_RATIO = 200
CHUNK = 64 * 1024


class ImportRefused(AppError):
    """A file that cannot be read as a register; ``code`` says why, for scripts."""

    code = "import_refused"
    status = 422

    def __init__(self, code: str, message: Any, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


@dataclass(frozen=True)
class Cell:
    """A spreadsheet cell that was not plain text: ``kind`` is ``number`` or ``formula``."""

    text: str
    kind: str

    def __str__(self) -> str:
        return self.text


def limits() -> tuple[int, int]:
    """``(bytes, rows)`` a register may have here (``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS``)."""
    config = current_app.config
    return int(config["IMPORT_MAX_BYTES"]), int(config["IMPORT_MAX_ROWS"])


def kind_of(path: Path, first_bytes: bytes) -> str:
    """``xlsx`` (a zip archive) or ``csv``, by content, not by the name."""
    return "xlsx" if first_bytes.startswith(b"PK\x03\x04") else "csv"


def read_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """``(row number in the file, cells)`` of every row, the header rows included.

    :raises ImportRefused: too large, too many rows, not a readable CSV or XLSX.
    """
    max_bytes, max_rows = limits()
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportRefused("too_large", _l(
            "The file is %(size)s MB; the limit is %(max)s MB. Split it into several files.",
            size=round(size / 1_048_576, 1), max=max_bytes // 1_048_576))
    if size == 0:
        raise ImportRefused("empty", _l("The file is empty."))
    with path.open("rb") as f:
        head = f.read(8)
    xlsx = kind_of(path, head) == "xlsx"
    # Counted before the first row is judged: a file too long is refused at once, whole.
    count = _xlsx_count(path) if xlsx else _csv_count(path)
    if count > max_rows + 3:  # up to three header rows
        raise _too_many(max_rows)
    for number, cells in _xlsx_rows(path) if xlsx else _csv_rows(path):
        if number > max_rows + 3:  # a sheet that declared fewer rows than it holds
            raise _too_many(max_rows)
        yield number, cells


def _too_many(max_rows: int) -> ImportRefused:
    return ImportRefused("too_many_rows", _l(
        "The file has more than %(max)s rows. Split it into files of at most %(max)s rows; "
        "nothing was imported.", max=f"{max_rows:,}".replace(",", ".")))


# -- CSV -------------------------------------------------------------------------------------------
def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` when the whole file is UTF-8 (a byte-order mark or not), else
    ``cp1252`` (Excel's "ANSI" in Spanish; Latin-1 where cp1252 leaves a byte undefined)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    decoder = codecs.getincrementaldecoder("cp1252")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def _separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=lambda s: (counts[s], s == ","))


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        first = f.readline()
        if "\x00" in first:
            raise ImportRefused("unreadable", _l(
                "This file is neither a CSV nor an XLSX spreadsheet."))
        f.seek(0)
        reader = csv.reader(f, delimiter=_separator(first))
        try:
            for number, row in enumerate(reader, start=1):
                yield number, [_csv_cell(v) for v in row]
        except csv.Error as error:
            raise ImportRefused("unreadable", _l(
                "Line %(line)s cannot be read as CSV: %(error)s", line=reader.line_num,
                error=str(error))) from None


def _csv_count(path: Path) -> int:
    """The file's CSV rows (a fast pass in C: a quoted line break is no new row)."""
    with path.open(encoding=detect_encoding(path), newline="") as f:
        try:
            return sum(1 for _row in csv.reader(f, delimiter=_separator(f.readline())))
        except csv.Error:
            return 0  # the reading pass says where and why


def _csv_cell(value: str) -> Any:
    text = value.strip()
    if not text:
        return None
    return Cell(text, "formula") if text.startswith("=") else text


# -- XLSX ------------------------------------------------------------------------------------------
def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise ImportRefused("unreadable", _l(
            "This file is neither a CSV nor an XLSX spreadsheet.")) from None
    total = sum(i.file_size for i in infos)
    inflated = any(i.compress_size and i.file_size / i.compress_size > XLSX_MAX_RATIO
                   and i.file_size > 10 * 1024 * 1024 for i in infos)
    if total > XLSX_MAX_UNPACKED or inflated:
        raise ImportRefused("xlsx_bomb", _l(
            "This spreadsheet unpacks to far more than its size (%(size)s MB): it is refused. "
            "Save it again from Excel, or as CSV.", size=total // 1_048_576))


def _xlsx_count(path: Path) -> int:
    """The rows the first sheet declares (its dimension), 0 when it declares none."""
    from openpyxl import load_workbook

    _check_archive(path)
    try:
        workbook = load_workbook(path, read_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused("unreadable", _l(
            "This file is neither a CSV nor an XLSX spreadsheet.")) from None
    try:
        return int(workbook.worksheets[0].max_row or 0)
    except Exception:  # a sheet without a dimension, or a damaged one: counted while read
        return 0
    finally:
        workbook.close()


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    _check_archive(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused("unreadable", _l(
            "This file is neither a CSV nor an XLSX spreadsheet.")) from None
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_xlsx_cell(v) for v in row]
    finally:
        workbook.close()


def _xlsx_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return Cell(str(value), "number")
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
        return Cell(text, "number")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else \
            value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    return Cell(text, "formula") if text.startswith("=") else text
