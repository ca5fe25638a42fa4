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
from decimal import Decimal
from typing import Any

import orjson

from fieldapp.dashboard.csv_format import csv_text, rows_text
from fieldapp.dashboard.datasets import Col


def _json_decimal(value: Any) -> Any:
    # As the CSV writes it (csv_format.decimal_text): six decimals undo SQLite's binary
    # floating point (166.66000000000003), a Decimal is a number.
    if type(value) is float:
        return round(value, 6)
    return float(value) if isinstance(value, Decimal) else value


def _json_int(value: Any) -> Any:
    return value if type(value) is int else int(value)  # PostgreSQL's SUM is a Decimal


def _json_bool(value: Any) -> Any:
    return value if type(value) is bool else bool(value)  # SQLite computes 0/1


#: The kinds whose values need a conversion before :mod:`orjson` writes them; it writes text,
#: dates, UUIDs and (with :data:`ORJSON_OPTIONS`) UTC timestamps as they come.
JSON_VALUE: dict[str, Callable[[Any], Any]] = {
    "decimal": _json_decimal,
    "int": _json_int,
    "bool": _json_bool,
}
#: Timestamps as the exports write them: ``2026-03-31T14:05:00Z``.
ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_OMIT_MICROSECONDS


def json_rows(columns: Sequence[Col], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """``rows`` (typed values, in ``columns``' order) as JSON objects, a column converted at a
    time where its kind needs it."""
    names = [c.name for c in columns]
    out = [dict(zip(names, row, strict=True)) for row in rows]
    for col in columns:
        convert = JSON_VALUE.get(col.kind)
        if convert is None:
            continue
        name = col.name
        for item in out:
            value = item[name]
            if value is not None:
                item[name] = convert(value)
    return out


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
