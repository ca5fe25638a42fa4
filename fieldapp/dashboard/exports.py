"""Exports of datasets as CSV or XLSX, streamed: memory stays flat whatever the size.

Rows come from a server-side cursor in batches (``stream_results``: a named cursor on
PostgreSQL; SQLite steps its cursor lazily) and leave as they are written:

- CSV: UTF-8 with a byte-order mark (Excel opens accents correctly), comma-separated, a header
  row of the stable column names, ISO dates, UTC timestamps ``2026-03-31T14:05:00Z``, ``.`` as
  decimal separator, ``true``/``false``. The database writes each line itself
  (:func:`csv_line`: every value formatted by its column's kind and quoted as Python's ``csv``
  module quotes, in SQL), so Python only joins lines: formatting 250,000 rows of 22 values one
  by one in Python cost seconds. Where the database cannot write a value exactly as Python does
  (PostgreSQL's ``double precision``), values leave it untyped and Python writes them
  (:func:`_python_csv`), the same way from SQLite and PostgreSQL.
- XLSX: openpyxl in write-only mode (rows go to a temporary file, not to memory); the finished
  workbook is streamed from that file in chunks. A sheet holds at most 1,048,575 data rows;
  more continue on a second sheet.

An empty selection gives a valid file with its header row.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Float, Select, String, case, cast, func, literal, type_coerce
from sqlalchemy.types import NullType

from fieldapp.dashboard.datasets import Dataset
from fieldapp.dashboard.filters import Filters
from fieldapp.extensions import db

BATCH = 2000  # rows fetched from the cursor at a time
CHUNK = 64 * 1024  # bytes sent at a time
XLSX_MAX_ROWS = 1_048_575  # one row of the sheet's 1,048,576 is the header
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _uuid_text(value: Any) -> str:
    text = str(value)
    if len(text) == 32:  # SQLite keeps UUIDs as 32 hex digits
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def _date_text(value: Any) -> str:
    return value[:10] if isinstance(value, str) else value.isoformat()


def _timestamp_text(value: Any) -> str:
    # Stored as naive UTC on both databases: SQLite gives text, PostgreSQL a datetime.
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:19]}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal_text(value: Any) -> str:
    # SQLite computes in binary floating point: six decimals undo its 166.66000000000003.
    text = f"{value:.6f}" if isinstance(value, float) else str(value)
    if "." in text and "e" not in text and "E" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _bool_text(value: Any) -> str:
    return "true" if value else "false"


#: How a raw database value of each kind is written in CSV (text and integers as they come).
CSV_TEXT = {"uuid": _uuid_text, "date": _date_text, "datetime": _timestamp_text,
            "decimal": _decimal_text, "bool": _bool_text}


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # stored in UTC; Excel has no time zones
    if kind == "bool":
        return bool(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(stmt: Select[Any]) -> Iterator[Any]:
    """Rows of ``stmt`` in batches from a streaming cursor on a connection of its own."""
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
        for batch in result.partitions(BATCH):
            yield from batch


def _raw(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` returning the database's own values: no per-value conversion in Python."""
    return stmt.with_only_columns(
        *[type_coerce(c, NullType()).label(c.name) for c in stmt.selected_columns],
        maintain_column_froms=True,
    )


# -- CSV lines written by the database ----------------------------------------------------------
def _text(expr: Any) -> Any:
    return type_coerce(expr, String())


def _csv_value(expr: Any, kind: str, dialect: str) -> Any | None:
    """``expr`` as the text Python's writer would put in the CSV (quoted if need be, "" for
    NULL), in ``dialect``'s SQL; ``None`` when only Python writes it exactly."""
    pg = dialect == "postgresql"
    value = cast(expr, String()) if pg else _text(expr)
    if kind == "uuid":
        if not pg:  # SQLite keeps UUIDs as 32 hex digits
            parts = [func.substr(expr, a, n) for a, n in ((1, 8), (9, 4), (13, 4), (17, 4))]
            dashed = parts[0]
            for part in [*parts[1:], func.substr(expr, 21)]:
                dashed = dashed.concat(literal("-")).concat(part)
            value = case((func.length(expr) == 32, dashed), else_=value)
    elif kind == "date":
        value = func.to_char(expr, "YYYY-MM-DD") if pg else func.substr(expr, 1, 10)
    elif kind == "datetime":  # naive UTC on both databases
        value = (
            func.to_char(expr, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            if pg
            else func.substr(expr, 1, 10)
            .concat(literal("T"))
            .concat(func.substr(expr, 12, 8))
            .concat(literal("Z"))
        )
    elif kind == "decimal":
        if pg and isinstance(expr.type, Float):
            return None  # float8 to text rounds differently from Python's "%.6f"
        if not pg:  # six decimals undo SQLite's binary 166.66000000000003, as in Python
            value = case((func.typeof(expr) == "real", func.printf("%.6f", expr)), else_=value)
        find = func.strpos if pg else func.instr
        trimmed = case(
            (
                (find(value, ".") > 0) & (find(value, "e") == 0) & (find(value, "E") == 0),
                func.rtrim(func.rtrim(value, "0"), "."),
            ),
            else_=value,
        )
        value = case((trimmed.in_(["-0", ""]), literal("0")), else_=trimmed)
    elif kind == "bool":
        truth = expr if (not pg or isinstance(expr.type, Boolean)) else expr != 0
        value = case((truth, literal("true")), else_=literal("false"))
    elif kind == "text":  # quoted when it holds a comma, a quote or a line break
        needs_quotes = (
            value.op("~")(literal('[,"\r\n]'))
            if pg
            else value.op("GLOB")(literal('*[,"\r\n]*'))
        )
        quoted = literal('"').concat(func.replace(value, '"', '""')).concat(literal('"'))
        value = case((needs_quotes, quoted), else_=value)
    # int: its text, as Python writes it
    return case((expr.is_(None), literal("")), else_=value)


def csv_line(dataset: Dataset, stmt: Select[Any], dialect: str) -> Select[Any] | None:
    """``stmt`` returning one column, each row's CSV line with its line end; ``None`` when a
    value must be written by Python on this database."""
    values = []
    for column, col in zip(stmt.selected_columns, dataset.columns(), strict=True):
        value = _csv_value(getattr(column, "element", column), col.kind, dialect)
        if value is None:
            return None
        values.append(value)
    line = values[0]
    for value in values[1:]:
        line = line.concat(literal(",")).concat(value)
    line = line.concat(literal("\r\n"))
    return stmt.with_only_columns(line.label("line"), maintain_column_froms=True)


def _lines(stmt: Select[Any]) -> Iterator[list[str]]:
    """Batches of the lines of ``stmt`` from a streaming cursor on a connection of its own."""
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
        yield from result.scalars().partitions(BATCH)


def stream_csv(dataset: Dataset, f: Filters, in_database: bool = True) -> Iterator[bytes]:
    """The dataset as CSV bytes, about 64 KB at a time.

    :param in_database: let the database write the lines where it can (else Python writes
        every value; the tests hold both to the same bytes).
    """
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(dataset.column_names())
    lines = csv_line(dataset, dataset.build(f), db.engine.dialect.name) if in_database else None
    if lines is None:
        yield from _python_csv(dataset, f, "\ufeff" + header.getvalue())
        return
    pending, size = ["\ufeff", header.getvalue()], 0
    for batch in _lines(lines):
        pending.append("".join(batch))
        size += len(pending[-1])
        if size >= CHUNK:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    yield "".join(pending).encode("utf-8")


def _python_csv(dataset: Dataset, f: Filters, head: str) -> Iterator[bytes]:
    """The dataset's CSV lines after ``head``, each value written by Python from the raw one."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(head)
    special = [(i, CSV_TEXT[c.kind]) for i, c in enumerate(dataset.columns()) if c.kind in CSV_TEXT]
    for row in _rows(_raw(dataset.build(f))):
        values = list(row)
        for i, write in special:
            if values[i] is not None:
                values[i] = write(values[i])
        writer.writerow(values)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def stream_xlsx(dataset: Dataset, f: Filters) -> Iterator[bytes]:
    """The dataset as an XLSX workbook, built in write-only mode, then streamed in chunks."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    columns = dataset.columns()
    kinds = [c.kind for c in columns]
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    sheets = 0

    def new_sheet() -> Any:
        nonlocal sheets
        sheets += 1
        sheet = workbook.create_sheet(dataset.name[:28] + (f" {sheets}" if sheets > 1 else ""))
        header = []
        for name in dataset.column_names():
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        return sheet

    sheet, in_sheet = new_sheet(), 0
    date_format = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss"}
    for row in _rows(dataset.build(f)):
        if in_sheet == XLSX_MAX_ROWS:
            sheet, in_sheet = new_sheet(), 0
        values = []
        for value, kind in zip(row, kinds, strict=True):
            converted = _xlsx_value(value, kind)
            if kind in date_format and converted is not None:
                cell = WriteOnlyCell(sheet, value=converted)
                cell.number_format = date_format[kind]
                values.append(cell)
            else:
                values.append(converted)
        sheet.append(values)
        in_sheet += 1
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


def filename(dataset: Dataset, f: Filters, fmt: str) -> str:
    """``fieldapp-<dataset>-<from>_<to>.<fmt>``: what it is and which months it covers."""
    period = f"{f.date_from:%Y-%m}_{f.date_to:%Y-%m}"
    return f"fieldapp-{dataset.name}-{period}.{fmt}"
