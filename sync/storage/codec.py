"""Values on the wire: each column type has one JSON form, the same on SQLite and PostgreSQL.

UUIDs, dates and decimals travel as strings, bytes as base64, timestamps as ISO 8601 in UTC.
A table's codec is built once from its SQLAlchemy columns.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from math import isfinite
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Table,
    TypeDecorator,
    Uuid,
)

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


_new = object.__new__
_set = object.__setattr__
_SAFE_UNKNOWN = uuid.SafeUUID.unknown


#: The integers a column holds (SQLite's INTEGER, PostgreSQL's BIGINT): JSON has no bound.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def fast_uuid(text: str) -> uuid.UUID:
    """``uuid.UUID(text)`` without its overhead (``ValueError`` if not a UUID)."""
    hex32 = text.replace("-", "")
    # Only hex digits (``int(text, 16)``, as ``uuid.UUID`` uses it, also takes "0x", "_",
    # "+", spaces and other scripts' digits): 32 characters making 16 bytes.
    raw = bytes.fromhex(hex32) if len(hex32) == 32 else b""
    if len(raw) != 16:
        raise ValueError(f"not a UUID: {text!r}")
    value = _new(uuid.UUID)
    _set(value, "int", int.from_bytes(raw))
    _set(value, "is_safe", _SAFE_UNKNOWN)
    return value


def storable(value: Any, size: int | None = None) -> str:
    """``value`` as text every database stores (at most ``size`` characters): half of a
    UTF-16 pair, which JSON may carry and no database stores, becomes "?", and so does NUL,
    which PostgreSQL's text does not hold."""
    text = str(value)[:size].replace("\x00", "?")
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def wire_kind(sqltype: Any) -> str:
    """The wire form of a column type, the one table both codecs follow: ``uuid``,
    ``datetime``, ``date``, ``decimal``, ``float``, ``bytes``, ``bool``, ``int``, ``json`` or
    ``str`` (:class:`TableCodec` converts it to Python values, :mod:`sync.storage.fastsql` to what
    SQLite stores)."""
    if isinstance(sqltype, TypeDecorator):
        sqltype = sqltype.impl_instance if hasattr(sqltype, "impl_instance") else sqltype.impl
    for kind, types in _KINDS:
        if isinstance(sqltype, types):
            return kind
    return "str"


def _enc_uuid(v: Any) -> str:
    return str(v)


#: Wire UUID -> :class:`uuid.UUID`: a page names the same parents again and again (families,
#: agreements, the origin node). Bounded: cleared when it grows large.
_UUIDS: dict[str, uuid.UUID] = {}
_UUIDS_MAX = 50_000


def _dec_uuid(v: Any) -> uuid.UUID:
    if type(v) is str:
        found = _UUIDS.get(v)
        if found is None:
            if len(_UUIDS) >= _UUIDS_MAX:
                _UUIDS.clear()
            found = _UUIDS[v] = fast_uuid(v)
        return found
    if isinstance(v, uuid.UUID):
        return v
    raise ValueError(f"not a UUID: {v!r}")


def _enc_datetime(v: datetime) -> str:
    if v.tzinfo is None:  # the app stores naive UTC
        v = v.replace(tzinfo=UTC)
    return v.astimezone(UTC).isoformat()


def _dec_datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    value = datetime.fromisoformat(v)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {v!r}")
    return value


def _enc_date(v: date) -> str:
    return v.isoformat()


def _dec_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(v)


def _enc_decimal(v: Any) -> str:
    return str(v)


def _dec_decimal(v: Any) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, (str, int, float, Decimal)):
        raise ValueError(f"not a number: {v!r}")
    number = Decimal(str(v))
    if not number.is_finite():  # NaN and infinities are no quantity
        raise ValueError(f"not a finite number: {v!r}")
    return number


def _enc_bytes(v: bytes) -> str:
    return base64.b64encode(v).decode("ascii")


def _dec_bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    return base64.b64decode(v.encode("ascii"), validate=True)


def _dec_bool(v: Any) -> bool:
    if not isinstance(v, (bool, int)):
        raise ValueError(f"not a boolean: {v!r}")
    return bool(v)


def _dec_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"not an integer: {v!r}")
    if not INT_MIN <= v <= INT_MAX:
        raise ValueError(f"an integer too large: {v!r}")
    return v


def _dec_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not isfinite(v):
        raise ValueError(f"not a finite number: {v!r}")
    return float(v)


def _dec_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"not text: {v!r}")
    return v


def _same(v: Any) -> Any:
    return v


#: Checked in this order (Float is a Numeric, Boolean is not an Integer but may look alike).
_KINDS: tuple[tuple[str, Any], ...] = (
    ("uuid", Uuid), ("datetime", DateTime), ("date", Date), ("float", Float),
    ("decimal", Numeric), ("bytes", LargeBinary), ("bool", Boolean), ("int", Integer),
    ("json", JSON),
)

#: Wire form -> (Python value to wire, wire to Python value).
PAIRS: dict[str, tuple[Encoder, Decoder]] = {
    "uuid": (_enc_uuid, _dec_uuid), "datetime": (_enc_datetime, _dec_datetime),
    "date": (_enc_date, _dec_date), "decimal": (_enc_decimal, _dec_decimal),
    "float": (_same, _dec_float), "bytes": (_enc_bytes, _dec_bytes),
    "bool": (_same, _dec_bool), "int": (_same, _dec_int), "json": (_same, _same),
    "str": (_same, _dec_str),
}


def _pair(sqltype: Any) -> tuple[Encoder, Decoder]:
    return PAIRS[wire_kind(sqltype)]


class TableCodec:
    """Encode a row of one table to JSON-able values and back."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns: list[str] = [c.key for c in table.columns]
        self.data_columns: list[str] = [c for c in self.columns if c != "id"]
        self.column_set: frozenset[str] = frozenset(self.columns)
        self.nullable = {c.key: bool(c.nullable) for c in table.columns}
        pairs = {c.key: _pair(c.type) for c in table.columns}
        self.encoders: dict[str, Encoder] = {k: p[0] for k, p in pairs.items()}
        self.decoders: dict[str, Decoder] = {k: p[1] for k, p in pairs.items()}
        self._layouts: dict[tuple[str, ...], Callable[[dict[str, Any]], dict]] = {}
        #: What a column left out of a row holds: its scalar default, else ``None``.
        self.defaults: dict[str, Any] = {
            c.key: c.default.arg if c.default is not None and c.default.is_scalar else None
            for c in table.columns
        }

    def encode_value(self, column: str, value: Any) -> Any:
        return None if value is None else self.encoders[column](value)

    def decode_value(self, column: str, value: Any) -> Any:
        """The Python value of ``column`` from its JSON form.

        :raises ValueError: the value does not fit the column (unknown column, wrong type).
        """
        decoder = self.decoders.get(column)
        if decoder is None:
            raise ValueError(f"unknown column {self.table.name}.{column}")
        if value is None:
            return None
        return decoder(value)

    def encode_row(self, row: Any, columns: list[str] | None = None) -> dict[str, Any]:
        """A mapping (or Row) of Python values as a dict of JSON values."""
        enc = self.encoders
        out = {}
        for key in columns or self.data_columns:
            value = row[key]
            out[key] = None if value is None else enc[key](value)
        return out

    def decode_row(self, data: dict[str, Any]) -> dict[str, Any]:
        """A dict of JSON values as Python values, every column checked.

        :raises ValueError: unknown column or a value of the wrong type.
        """
        layout = tuple(data)
        decode = self._layouts.get(layout)
        if decode is None:
            for key in layout:
                if key not in self.decoders:
                    raise ValueError(f"unknown column {self.table.name}.{key}")
            if len(self._layouts) >= 64:  # a node writes one or two layouts per table
                self._layouts.clear()
            decode = self._layouts[layout] = self._compile_decoder(layout)
        return decode(data)

    def _compile_decoder(self, layout: tuple[str, ...]) -> Callable[[dict[str, Any]], dict]:
        """One function per layout of keys decoding a row without a loop: the values are
        unpacked in the order they come; a value already of its type (text, integers,
        booleans, a parent's id seen before) is taken without a call."""
        namespace: dict[str, Any] = {"_uuids": _UUIDS.get}
        parts = []
        for n, key in enumerate(layout):
            decoder = self.decoders[key]
            namespace[f"d{n}"] = decoder
            v = f"v{n}"
            if decoder is _dec_str:
                convert = f"{v} if type({v}) is str else d{n}({v})"
            elif decoder is _dec_int:
                convert = (f"{v} if type({v}) is int and {INT_MIN} <= {v} <= {INT_MAX} "
                           f"else d{n}({v})")
            elif decoder is _dec_bool:
                convert = f"{v} if type({v}) is bool else d{n}({v})"
            elif decoder is _dec_uuid:
                convert = f"(_uuids({v}) if type({v}) is str else None) or d{n}({v})"
            elif decoder is _same:
                convert = v
            else:
                convert = f"d{n}({v})"
            parts.append(f"{key!r}: (None if {v} is None else {convert})")
        lines = ["def decode(d):"]
        if layout:
            lines.append(f"    {', '.join(f'v{n}' for n in range(len(layout)))}, = d.values()")
        lines.append("    return {" + ", ".join(parts) + "}")
        exec("\n".join(lines), namespace)  # noqa: S102 - code made from our own column names
        return namespace["decode"]
