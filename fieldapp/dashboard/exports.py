"""Exports of datasets as CSV or XLSX, streamed: memory stays flat whatever the size.

Rows come from a server-side cursor in batches (:mod:`.streaming`: a named cursor on
PostgreSQL; SQLite steps its cursor lazily) and leave as they are written:

- CSV: UTF-8 with a byte-order mark (Excel opens accents correctly), comma-separated, a header
  row of the stable column names, ISO dates, UTC timestamps ``2026-03-31T14:05:00Z``, ``.`` as
  decimal separator, ``true``/``false``, quoted as Python's ``csv`` module quotes. Values leave
  the database untyped and are written by their column's kind, a batch at a time
  (:mod:`.csv_format`), the same way from SQLite and PostgreSQL. The deliveries, the largest
  table, have a writer of their own (:mod:`.delivery_csv`).
- XLSX: openpyxl in write-only mode (rows go to a temporary file, not to memory); the finished
  workbook is streamed from that file in chunks. A sheet holds at most 1,048,575 data rows;
  more continue on a second sheet. Text is written as string cells (never a formula), made
  safe like the CSV's (:func:`.csv_format.safe_text`); control characters XLSX cannot hold
  are left out.

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

from fieldapp.dashboard.csv_format import csv_text, media_path, rows_text, safe_text
from fieldapp.dashboard.datasets import Dataset
from fieldapp.dashboard.delivery_csv import deliveries_csv
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.streaming import raw_select, read_batches, read_rows

CHUNK = 64 * 1024  # bytes of the XLSX file sent at a time
XLSX_MAX_ROWS = 1_048_575  # one row of the sheet's 1,048,576 is the header
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def stream_csv(dataset: Dataset, f: Filters) -> Iterator[bytes]:
    """The dataset as CSV bytes, a batch of rows (a few thousand) at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(dataset.column_names())
    yield ("\ufeff" + out.getvalue()).encode("utf-8")
    if dataset.name == "deliveries":
        texts = deliveries_csv(f)
    else:
        kinds = [c.kind for c in dataset.columns()]
        texts = (
            csv_text(rows_text(kinds, rows), writer, out)
            for rows in read_batches(raw_select(dataset.build(f)))
        )
    for text in texts:
        yield text.encode("utf-8")


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "media_link":
        return media_path(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # stored in UTC; Excel has no time zones
    if kind == "bool":
        return bool(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def stream_xlsx(dataset: Dataset, f: Filters) -> Iterator[bytes]:
    """The dataset as an XLSX workbook, built in write-only mode, then streamed in chunks."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
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
    for row in read_rows(dataset.build(f)):
        if in_sheet == XLSX_MAX_ROWS:
            sheet, in_sheet = new_sheet(), 0
        values = []
        texts = []
        for value, kind in zip(row, kinds, strict=True):
            converted = _xlsx_value(value, kind)
            if kind == "text" and type(converted) is str:
                # Made safe (csv_format.safe_text), text never starts with the "=" from which
                # openpyxl infers a formula: it is a string cell (a WriteOnlyCell per value
                # to set its type would cost the export a sixth more).
                text = safe_text(converted)
                values.append(text)
                texts.append(text)
            elif kind in date_format and converted is not None:
                cell = WriteOnlyCell(sheet, value=converted)
                cell.number_format = date_format[kind]
                values.append(cell)
            else:
                values.append(converted)
        if ILLEGAL_CHARACTERS_RE.search("".join(texts)):  # one search a row, not one a value
            # A control character XLSX cannot hold (openpyxl would fail the download): left
            # out, then the rule again (what follows it may start like a formula).
            values = [safe_text(ILLEGAL_CHARACTERS_RE.sub("", v)) if type(v) is str else v
                      for v in values]
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
