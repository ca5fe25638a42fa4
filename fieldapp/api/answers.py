"""An API page as JSON or CSV: the values written as the exports write them.

JSON: text as stored, integers and decimals as numbers, ``true``/``false``, ISO dates, UTC
timestamps ``2026-03-31T14:05:00Z``, dashed UUIDs, ``null``. CSV: the exports' own writer
(:mod:`fieldapp.dashboard.csv_format`: the same text, and text that starts like a spreadsheet
formula written with a ``'`` in front).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fieldapp.dashboard.csv_format import csv_text, decimal_text, rows_text
from fieldapp.dashboard.datasets import Col


def _json_decimal(value: Any) -> Any:
    text = decimal_text(value)
    return int(text) if "." not in text and "e" not in text.lower() else float(text)


def _json_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{str(value)[:10]}T{str(value)[11:19]}Z"


def _json_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _json_uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _json_int(value: Any) -> int:
    return int(value)


def _json_bool(value: Any) -> bool:
    return bool(value)


def _json_text(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


JSON_VALUE: dict[str, Callable[[Any], Any]] = {
    "text": _json_text,
    "int": _json_int,
    "decimal": _json_decimal,
    "date": _json_date,
    "datetime": _json_datetime,
    "bool": _json_bool,
    "uuid": _json_uuid,
}


def json_rows(columns: Sequence[Col], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """``rows`` (typed values, in ``columns``' order) as JSON objects."""
    plan = [(c.name, JSON_VALUE[c.kind]) for c in columns]
    out = []
    for row in rows:
        out.append({name: (None if v is None else write(v))
                    for (name, write), v in zip(plan, row, strict=True)})
    return out


def _decimal_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def csv_page(columns: Sequence[Col], rows: Sequence[Sequence[Any]],
             deleted: Sequence[uuid.UUID] | None, key: str) -> str:
    """``rows`` (the database's raw values) as CSV with a header row, as the exports write it.

    An incremental page (``deleted`` not ``None``) has one more column, ``deleted``: ``false``
    on the rows, ``true`` on a line per deleted key (its key column filled, nothing else).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [c.name for c in columns]
    texts = rows_text([c.kind for c in columns], list(rows))
    if deleted is not None:
        header.append("deleted")
        at = header.index(key)
        texts = [(*t, "false") for t in texts]
        for k in deleted:
            line = [""] * len(header)
            line[at], line[-1] = str(k), "true"
            texts.append(tuple(line))
    writer.writerow(header)
    head = out.getvalue()
    return head + (csv_text(texts, writer, out) if texts else "")
