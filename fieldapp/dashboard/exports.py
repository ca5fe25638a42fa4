"""Exports of datasets as CSV or XLSX, streamed: memory stays flat whatever the size.

Rows come from a server-side cursor in batches (``stream_results``: a named cursor on
PostgreSQL; SQLite steps its cursor lazily) and leave as they are written:

- CSV: UTF-8 with a byte-order mark (Excel opens accents correctly), comma-separated, a header
  row of the stable column names, ISO dates, UTC timestamps ``2026-03-31T14:05:00Z``, ``.`` as
  decimal separator, ``true``/``false``, quoted as Python's ``csv`` module quotes. Values leave
  the database untyped and are written by their column's kind, a batch at a time
  (:func:`_column_text`, :func:`_csv_text`), the same way from SQLite and PostgreSQL. The
  deliveries, the largest table, have a writer of their own (:func:`_deliveries_csv`).
- XLSX: openpyxl in write-only mode (rows go to a temporary file, not to memory); the finished
  workbook is streamed from that file in chunks. A sheet holds at most 1,048,575 data rows;
  more continue on a second sheet.

An empty selection gives a valid file with its header row.
"""

from __future__ import annotations

import csv
import io
import queue
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, case, cast, func, select, type_coerce, union
from sqlalchemy.types import NullType

from fieldapp.agreements.models import Agreement, BenefitType
from fieldapp.communities.models import Community
from fieldapp.dashboard.conditions import delivery_conditions, in_community
from fieldapp.dashboard.datasets import Dataset, family_cols
from fieldapp.dashboard.filters import Filters
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family

BATCH = 2000  # rows fetched from the cursor, and written, at a time
CHUNK = 64 * 1024  # bytes of the XLSX file sent at a time
XLSX_MAX_ROWS = 1_048_575  # one row of the sheet's 1,048,576 is the header
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _batches(stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` in batches from a streaming cursor on a connection of its own.

    On PostgreSQL the batches are read by a thread of their own (:func:`_read_ahead`): the
    server finds and sends the next rows while this process writes the previous ones, instead
    of each waiting for the other.
    """
    engine = db.engine
    if engine.dialect.name == "postgresql":
        yield from _read_ahead(engine, stmt)
        return
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
        yield from result.partitions(BATCH)


def _read_ahead(engine: Any, stmt: Select[Any], depth: int = 2) -> Iterator[Sequence[Any]]:
    """Batches of ``stmt`` read by a reader thread at most ``depth`` batches ahead.

    Memory stays flat (at most ``depth`` batches wait); an error in the reader is raised here;
    a consumer that stops early (a client gone mid-download) stops the reader and closes its
    connection.
    """
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, max_row_buffer=BATCH).execute(stmt)
                for batch in result.partitions(BATCH):
                    if not offer(batch):
                        return
        except Exception as exc:  # handed to the consumer, which raises it
            offer(exc)
        else:
            offer(done)

    reader = threading.Thread(target=read, name="export-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=30)


def _rows(stmt: Select[Any]) -> Iterator[Any]:
    return (row for batch in _batches(stmt) for row in batch)


def _raw(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` returning the database's own values: no per-value conversion in Python."""
    return stmt.with_only_columns(
        *[type_coerce(c, NullType()).label(c.name) for c in stmt.selected_columns],
        maintain_column_froms=True,
    )


# -- CSV -------------------------------------------------------------------------------------------
_EMPTY = {None: ""}.get  # _EMPTY(v, v): "" for NULL, else the value itself
_BOOL = {"": "", 0: "false", 1: "true"}.__getitem__  # SQLite gives 0/1, PostgreSQL False/True


def _uuid_text(value: Any) -> str:
    text = str(value)
    if len(text) == 32:  # SQLite keeps UUIDs as 32 hex digits
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def _date_text(value: Any) -> str:
    return value[:10] if type(value) is str else value.isoformat()


def _decimal_text(value: Any) -> str:
    if type(value) is int:
        return str(value)
    # SQLite computes in binary floating point: six decimals undo its 166.66000000000003.
    text = f"{value:.6f}" if isinstance(value, float) else str(value)
    if "." in text and "e" not in text and "E" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _timestamp_text(value: Any) -> str:
    # Stored as naive UTC on both databases: SQLite gives text, PostgreSQL a datetime.
    if type(value) is str:
        return f"{value[:10]}T{value[11:19]}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


#: How a raw value (not NULL) of each kind of column is written; text and integers as they come.
CSV_TEXT: dict[str, Callable[[Any], str]] = {
    "uuid": _uuid_text,
    "date": _date_text,
    "datetime": _timestamp_text,
    "decimal": _decimal_text,
}


def _column_text(kind: str, values: Sequence[Any]) -> list[str]:
    """The CSV text of a column's raw values, "" for NULL, through C functions where one will
    do (the text, integer and boolean columns)."""
    if kind == "bool":
        return list(map(_BOOL, map(_EMPTY, values, values)))
    if kind in CSV_TEXT:
        write = CSV_TEXT[kind]
        return ["" if v is None else write(v) for v in values]
    return list(map(str, map(_EMPTY, values, values)))


def _rows_text(kinds: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[tuple[str, ...]]:
    """The values of ``rows`` as text, by the ``kinds`` of their columns, a column at a time."""
    if not rows:
        return []
    columns = zip(*rows, strict=True)
    return list(
        zip(*[_column_text(k, v) for k, v in zip(kinds, columns, strict=True)], strict=True)
    )


def _csv_text(rows: Sequence[Sequence[str]], writer: Any, out: io.StringIO) -> str:
    """The CSV lines of ``rows`` (their values as text), as ``csv.writer`` writes them.

    The values of each row are joined with commas. When the batch's text holds no more commas
    than separators, no quote and no line break but the lines' ends, no value needed quoting
    (nearly always); else the rows whose values need it are written by ``writer`` (which
    writes into ``out``). Joining is ten times faster than ``csv.writer``.
    """
    separators = len(rows[0]) - 1 if rows else 0
    lines = list(map(",".join, rows))
    lines.append("")
    text = "\r\n".join(lines)
    count = len(rows)
    if (
        text.count(",") == separators * count
        and text.count("\n") == count
        and text.count("\r") == count
        and '"' not in text
        and separators  # csv quotes a row of one empty value
    ):
        return text
    for i, values in enumerate(rows):
        line = lines[i]
        if (
            line.count(",") != separators
            or '"' in line
            or "\n" in line
            or "\r" in line
            or not separators
        ):
            out.seek(0)
            out.truncate()
            writer.writerow(values)
            lines[i] = out.getvalue()[:-2]
    return "\r\n".join(lines)


def stream_csv(dataset: Dataset, f: Filters) -> Iterator[bytes]:
    """The dataset as CSV bytes, a batch of rows (a few thousand) at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(dataset.column_names())
    yield ("\ufeff" + out.getvalue()).encode("utf-8")
    if dataset.name == "deliveries":
        texts = _deliveries_csv(f)
    else:
        kinds = [c.kind for c in dataset.columns()]
        texts = (
            _csv_text(_rows_text(kinds, rows), writer, out)
            for rows in _batches(_raw(dataset.build(f)))
        )
    for text in texts:
        yield text.encode("utf-8")


# -- the deliveries, written for speed -------------------------------------------------------------
def _deliveries_csv(f: Filters) -> Iterator[str]:
    """The ``deliveries`` dataset's CSV lines (:func:`.family_datasets._deliveries`) in batches.

    250,000 deliveries must leave in seconds: the table is read alone, in one scan sorted by
    date (no join), the family, agreement and benefit type of each delivery (and the codes
    of the deliveries it reverses or may double) are taken as text from dicts loaded first,
    and each line is written by one f-string. A batch whose text shows a value that needs
    quoting (or a comma in a looked-up value) is written again row by row through
    :func:`_csv_text`. The tests hold every export to the bytes Python's ``csv`` module
    writes from the rows of the dataset's own query.
    """
    families = _texts_by_id(
        select(*[c.expr for c in family_cols()])
        .join(Community, Community.id == Family.community_id)
        .where(*in_community(f, Family.community_id)),
        ["uuid", "text", "text", "text", "text", "text"],
        keep_id=True,
    )
    agreements = _texts_by_id(select(Agreement.id, Agreement.number), ["uuid", "text"])
    benefits = _texts_by_id(
        select(BenefitType.id, BenefitType.code, BenefitType.category), ["uuid", "text", "text"]
    )
    referenced = union(
        select(Delivery.reverses_id).where(Delivery.reverses_id.is_not(None)),
        select(Delivery.suspected_duplicate_of_id).where(
            Delivery.suspected_duplicate_of_id.is_not(None)
        ),
    )
    codes = {
        key: code
        for key, code in _raw_rows(
            select(_text_id(Delivery.id), Delivery.code).where(Delivery.id.in_(referenced))
        )
    }
    # The date compared and sorted through an expression: SQLite then sorts one scan of the
    # table rather than walking the date index and seeking every row (a third slower).
    day = func.coalesce(Delivery.delivered_on, Delivery.delivered_on)
    stmt = (
        select(
            *_delivery_texts(db.engine.dialect.name),
            Delivery.code,
            _text_id(Delivery.family_id),
            _text_id(Delivery.agreement_id),
            _text_id(Delivery.benefit_type_id),
            Delivery.item,
            Delivery.unit,
            Delivery.delivered_by_name,
            Delivery.receipt_kind,
            _text_id(Delivery.reverses_id),
            Delivery.reason,
            _text_id(Delivery.suspected_duplicate_of_id),
        )
        .where(*delivery_conditions(f, scan=True))
        .order_by(day, Delivery.code)
    )
    if f.community_id is not None:
        stmt = stmt.join(Family, Family.id == Delivery.family_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # Foreign keys hold every delivery's family, agreement and benefit type.
    for batch in _batches(_raw(stmt)):
        lines = []
        for (
            id_,
            day,
            quantity,
            code,
            family_id,
            agreement_id,
            benefit_id,
            item,
            unit,
            by,
            receipt,
            reverses_id,
            reason,
            twin_id,
        ) in batch:
            amount = quantity if type(quantity) is str else _decimal_text(quantity)
            # quantity > 0 (a check constraint): a reversal's is the same with a minus
            lines.append(
                f"{id_},{code},{day},{families[family_id][0]},{agreements[agreement_id][0]}"
                f",{benefits[benefit_id][0]},{item},{amount}"
                f",{amount if reverses_id is None else '-' + amount},{unit},{by},{receipt}"
                f",{'false' if reverses_id is None else 'true'},{codes.get(reverses_id, '')}"
                f",{reason or ''},{codes.get(twin_id, '')}\r\n"
            )
        text = "".join(lines)
        count = len(lines)
        if (
            text.count(",") == 21 * count
            and text.count("\n") == count
            and text.count("\r") == count
            and '"' not in text
        ):
            yield text
        else:
            lookups = families, agreements, benefits, codes
            yield _csv_text([_delivery_values(row, *lookups) for row in batch], writer, out)


def _delivery_texts(dialect: str) -> list[Any]:
    """A delivery's id, date and quantity as the CSV writes them, as far as the database can
    write them cheaply: SQLite has no UUID type and computes in floating point (its real
    quantities are written by Python), PostgreSQL's date text depends on ``DateStyle``."""
    if dialect == "postgresql":
        return [
            cast(Delivery.id, String).label("id"),
            func.to_char(Delivery.delivered_on, "YYYY-MM-DD").label("day"),
            # trim_scale (PostgreSQL 13+): 12.50 as 12.5, 250.00 as 250, as Python writes them
            cast(func.trim_scale(Delivery.quantity), String).label("quantity"),
        ]
    dashed = func.substr(Delivery.id, 1, 8)
    for start, length in ((9, 4), (13, 4), (17, 4), (21, 12)):
        dashed = dashed.concat("-").concat(func.substr(Delivery.id, start, length))
    integer = func.typeof(Delivery.quantity) == "integer"
    return [
        dashed.label("id"),
        func.substr(Delivery.delivered_on, 1, 10).label("day"),
        case((integer, cast(Delivery.quantity, String)), else_=Delivery.quantity).label("quantity"),
    ]


def _delivery_values(row: Sequence[Any], *lookups: dict[Any, Any]) -> list[str]:
    """The values of one line of :func:`_deliveries_csv`, as text."""
    families, agreements, benefits, codes = lookups
    (
        id_,
        day,
        quantity,
        code,
        family_id,
        agreement_id,
        benefit_id,
        item,
        unit,
        by,
        receipt,
        reverses_id,
        reason,
        twin_id,
    ) = row
    amount = quantity if type(quantity) is str else _decimal_text(quantity)
    return [
        id_,
        code,
        day,
        *families[family_id][1],
        *agreements[agreement_id][1],
        *benefits[benefit_id][1],
        item,
        amount,
        amount if reverses_id is None else "-" + amount,
        unit,
        by,
        receipt,
        "false" if reverses_id is None else "true",
        codes.get(reverses_id, ""),
        reason or "",
        codes.get(twin_id, ""),
    ]


def _text_id(column: Any) -> Any:
    """A UUID column as text: 32 hex digits on SQLite, dashed on PostgreSQL (str keys hash
    fast; the dicts' keys are the same text)."""
    return cast(column, String).label(column.key)


def _raw_rows(stmt: Select[Any]) -> Iterator[Any]:
    return (row for batch in _batches(_raw(stmt)) for row in batch)


def _texts_by_id(stmt: Select[Any], kinds: list[str], keep_id: bool = False) -> dict[str, Any]:
    """The rows of ``stmt`` by their first value as text (:func:`_text_id`): their values as
    text (by the columns' ``kinds``; without the first unless ``keep_id``), joined with
    commas and apart."""
    rows = list(_raw_rows(stmt))
    texts = _rows_text(kinds, rows)
    return {
        str(row[0]): (",".join(text), text)
        for row, text in zip(rows, texts if keep_id else [t[1:] for t in texts], strict=True)
    }


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
