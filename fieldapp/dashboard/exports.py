"""Exports of datasets as CSV or XLSX, streamed: memory stays flat whatever the size.

Rows come from a server-side cursor in batches (``stream_results``: a named cursor on
PostgreSQL; SQLite steps its cursor lazily) and leave as they are written:

- CSV: UTF-8 with a byte-order mark (Excel opens accents correctly), comma-separated, a header
  row of the stable column names, ISO dates, UTC timestamps ``2026-03-31T14:05:00Z``, ``.`` as
  decimal separator, ``true``/``false``. Values leave the database untyped and are written by
  their column's kind, the same way from SQLite and PostgreSQL.
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

from sqlalchemy import Select, type_coerce
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


def stream_csv(dataset: Dataset, f: Filters) -> Iterator[bytes]:
    """The dataset as CSV bytes, about 64 KB at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(dataset.column_names())
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
