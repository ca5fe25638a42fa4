"""Values as SQLite stores them: each wire form's converters to and from SQLAlchemy's stored
form on SQLite, for the bulk paths of :mod:`sync.storage.fastsql`.

UUIDs are stored as 32 hex digits, timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive UTC),
decimals as REAL, booleans as 0/1, JSON as text. A converter to the stored form checks its value
(``ValueError`` when it does not fit); values that repeat in a page (parent ids, timestamps,
dates) are converted once and remembered. :func:`inline_convert` writes the common cases of a
conversion as source, for the functions :class:`sync.storage.fastsql.SqliteTable` compiles per
table.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from math import isfinite
from typing import Any

import orjson
from sqlalchemy import TypeDecorator

from sync.storage.codec import INT_MAX, INT_MIN, wire_kind

_SAFE_UNKNOWN = uuid.SafeUUID.unknown
_new = object.__new__
_set = object.__setattr__


# -- wire -> SQLite (w_<kind>: checks a wire value, gives its stored form) --------------------
def w_uuid(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"not a UUID: {v!r}")
    hex32 = v.replace("-", "")
    # 32 characters making 16 bytes are 32 hex digits (``int(text, 16)`` would also take
    # "0x", "_", "+", spaces and other scripts' digits, and that text would be stored).
    if len(hex32) != 32 or len(bytes.fromhex(hex32)) != 16:
        raise ValueError(f"not a UUID: {v!r}")
    return hex32.lower()


#: Wire UUID -> stored hex of reference columns (a page names the same parents again and
#: again: families, agreements, the origin node). Bounded: cleared when it grows large.
_HEX_MEMO: dict[str, str] = {}
#: Stored hex -> :class:`uuid.UUID` (the same, for the values central reasons about).
UUID_MEMO: dict[str, uuid.UUID] = {}
_MEMO_MAX = 200_000


def _remembered(convert: Callable[[Any], Any], memo: dict[str, Any]) -> Callable[[Any], Any]:
    """``convert`` with its result remembered per text in ``memo`` (a page repeats the same
    parents and timestamps again and again). Bounded: ``memo`` is cleared when it grows large."""

    def remembered(v: Any) -> Any:
        found = memo.get(v) if type(v) is str else None
        if found is None:
            found = convert(v)
            if type(v) is str:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[v] = found
        return found

    return remembered


#: :func:`w_uuid` for columns that repeat (foreign keys), remembered.
w_uuid_ref = _remembered(w_uuid, _HEX_MEMO)


def uuid_from_hex(hex32: str) -> uuid.UUID:
    found = _new(uuid.UUID)
    _set(found, "int", int(hex32, 16))
    _set(found, "is_safe", _SAFE_UNKNOWN)
    return found


#: The UUID of 32 stored hex digits (already checked), remembered for repeated values.
uuid_of_hex: Callable[[str], uuid.UUID] = _remembered(uuid_from_hex, UUID_MEMO)


_fromisoformat = datetime.fromisoformat


_DT_MEMO: dict[str, str] = {}


def _datetime_to_db(v: Any) -> str:
    d = _fromisoformat(v)  # checks it
    if d.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {v!r}")
    if v[10:11] == "T" and v[13:14] == v[16:17] == ":" and v.endswith("+00:00"):
        # The common case: ours, already in UTC (with or without microseconds).
        if len(v) == 32 and v[19] == ".":
            return f"{v[:10]} {v[11:26]}"
        if len(v) == 25:
            return f"{v[:10]} {v[11:19]}.000000"
    if d.utcoffset():
        d = d.astimezone(UTC)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond:06d}")


#: Timestamps repeat (created = updated, a day's visits): each text is converted once.
w_datetime = _remembered(_datetime_to_db, _DT_MEMO)


def _date_to_db(v: Any) -> str:
    return date.fromisoformat(v).isoformat()


_DATE_MEMO: dict[str, str] = {}

#: Dates repeat (a day's deliveries and visits): each text is converted once.
w_date = _remembered(_date_to_db, _DATE_MEMO)


def w_decimal(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise ValueError(f"not a number: {v!r}")
    return _finite(float(v), v)


def w_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"not a number: {v!r}")
    return _finite(float(v), v)


def _finite(number: float, v: Any) -> float:
    """``number``, unless it is NaN or infinite (SQLite would store NaN as NULL, and an
    infinite quantity as such)."""
    if not isfinite(number):
        raise ValueError(f"not a finite number: {v!r}")
    return number


def w_bool(v: Any) -> int:
    if not isinstance(v, (bool, int)):
        raise ValueError(f"not a boolean: {v!r}")
    return 1 if v else 0


def w_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"not an integer: {v!r}")
    if not INT_MIN <= v <= INT_MAX:
        raise ValueError(f"an integer too large: {v!r}")
    return v


def w_json(v: Any) -> str:
    return json.dumps(v)


def w_bytes(v: Any) -> bytes:
    return base64.b64decode(v.encode("ascii"), validate=True)


def w_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"not text: {v!r}")
    return v


# -- SQLite -> wire (r_<kind>: a stored value in its wire form) -------------------------------
def r_uuid(v: Any) -> str:
    if isinstance(v, uuid.UUID):
        return str(v)
    return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"


WIRE_MEMO: dict[str, str] = {}


#: :func:`r_uuid` for columns that repeat (foreign keys), remembered.
r_uuid_ref = _remembered(r_uuid, WIRE_MEMO)


def r_datetime(v: Any) -> str:
    if isinstance(v, str) and len(v) == 26 and v[10] == " ":  # as SQLAlchemy stores it
        return f"{v[:10]}T{v[11:]}+00:00"
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC).isoformat() if v.tzinfo is None else v.isoformat()
    return datetime.fromisoformat(v).replace(tzinfo=UTC).isoformat()


def r_bool(v: Any) -> bool:
    return bool(v)


def r_json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def json_value(text: str) -> Any:
    """Stored JSON text as a Python value, as ``json.loads`` reads it, in a third of its time
    (orjson; what orjson refuses, integers past 64 bits or NaN, the standard library reads)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def r_bytes(v: Any) -> str:
    return base64.b64encode(v).decode("ascii")


def r_same(v: Any) -> Any:
    return v


def r_date(v: Any) -> str:
    return v if isinstance(v, str) else v.isoformat()


#: Wire form (:func:`sync.storage.codec.wire_kind`) -> (wire to stored, stored to wire).
_STORED: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "uuid": (w_uuid, r_uuid), "datetime": (w_datetime, r_datetime),
    "date": (w_date, r_date), "float": (w_float, r_same), "bytes": (w_bytes, r_bytes),
    "bool": (w_bool, r_bool), "int": (w_int, r_same), "json": (w_json, r_json),
    "str": (w_str, r_same),
}


def stored_pair(sqltype: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    kind = wire_kind(sqltype)
    if kind != "decimal":
        return _STORED[kind]
    if isinstance(sqltype, TypeDecorator):
        sqltype = sqltype.impl_instance if hasattr(sqltype, "impl_instance") else sqltype.impl
    scale = sqltype.scale if sqltype.scale is not None else 10

    def r_decimal(v: Any, _scale: int = scale) -> str:
        return f"{v:.{_scale}f}" if isinstance(v, (float, int)) else str(v)

    return w_decimal, r_decimal


#: Converters whose value passes unchanged when it has exactly this type (checked inline).
_PLAIN = {w_str: "str", w_int: "int"}

#: Remembering converters and their memos (looked up inline).
_MEMOS = {w_uuid_ref: _HEX_MEMO, w_datetime: _DT_MEMO, w_date: _DATE_MEMO}


def inline_convert(conv: Callable[[Any], Any], x: str, n: int, namespace: dict[str, Any]) -> str:
    """Source converting the value expression ``x`` with ``conv`` (``None`` stays ``None``).

    The common cases need no call: text and integers pass when of their type, booleans are
    converted inline, repeated values (parent ids, timestamps, dates) are found in their
    converter's memo; anything else calls the converter (which raises when it does not fit).
    """
    namespace[f"c{n}"] = conv
    plain = _PLAIN.get(conv)
    if plain == "int":  # in the range a column holds (else the converter refuses it)
        convert = f"{x} if type({x}) is int and {INT_MIN} <= {x} <= {INT_MAX} else c{n}({x})"
    elif plain:
        convert = f"{x} if type({x}) is {plain} else c{n}({x})"
    elif conv in _MEMOS:
        namespace[f"m{n}"] = _MEMOS[conv].get
        convert = f"(m{n}({x}) if type({x}) is str else None) or c{n}({x})"
    elif conv is w_bool:
        convert = f"(1 if {x} else 0) if type({x}) is bool else c{n}({x})"
    else:
        convert = f"c{n}({x})"
    return f"(None if {x} is None else {convert})"
