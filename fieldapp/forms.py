"""Form pieces shared by every domain."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Request, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.routing import IntegerConverter
from wtforms import HiddenField, IntegerField
from wtforms.validators import Optional, Regexp

from fieldapp.errors import BadParameter, ValidationFailed

#: The largest page number a list accepts (a list is never that long; a bigger number is a
#: typo or a probe).
PAGE_MAX = 1_000_000
#: Whole numbers the app reads: an optional sign and at most 18 digits, so that every accepted
#: value fits a 64-bit database integer (SQLite and PostgreSQL ``bigint``) before its range is
#: even checked.
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


def parse_int(raw: Any, low: int, high: int) -> int:
    """``raw`` (text or a number) as a whole number from ``low`` to ``high``.

    The one parser of every integer a request carries (query strings, form fields, the PWA's
    JSON): a 400-digit number, ``NaN``, ``1e309`` or ``0x10`` never reach the database, where
    they failed with a 500 (SQLite ``OverflowError``, PostgreSQL ``bigint out of range``).

    :raises ValueError: not a whole number, or outside ``[low, high]``.
    """
    if isinstance(raw, bool):
        raise ValueError(raw)
    text = str(raw).strip() if isinstance(raw, str | int) else None
    if text is None or not _WHOLE.fullmatch(text):
        raise ValueError(raw)
    value = int(text)
    if not low <= value <= high:
        raise ValueError(raw)
    return value


def parse_position(data: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """``data``'s ``lat`` and ``lon`` (text or numbers; empty: none), as a signature's or a
    visit's place: both or neither, within the globe's bounds.

    :raises ValidationFailed: not a number, out of bounds (on the field), or only one given.
    """
    lat = _coordinate(data.get("lat"), -90, 90, "lat")
    lon = _coordinate(data.get("lon"), -180, 180, "lon")
    if (lat is None) != (lon is None):
        raise ValidationFailed(_l("Give both latitude and longitude, or neither."), field="lat")
    return lat, lon


def _coordinate(value: Any, low: float, high: float, field: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Enter a number."), field=field) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValidationFailed(_l("Between %(low)s and %(high)s.", low=low, high=high), field=field)
    return number


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query-string parameter ``name`` as a whole number from ``low`` to ``high``.

    :returns: ``default`` when the parameter is absent or empty.
    :raises BadParameter: (400) anything else that is not such a number.
    """
    raw = request.args.get(name, "")
    if not raw.strip():
        return default
    try:
        return parse_int(raw, low, high)
    except ValueError:
        raise BadParameter(_l("“%(name)s” must be a whole number from %(low)s to %(high)s.",
                              name=name, low=low, high=high), field=name) from None


def page_arg(name: str = "page") -> int:
    """The page number of a list: 1 when absent, not a number or below 1 (links typed by hand
    stay usable); above :data:`PAGE_MAX` a 400 (:class:`BadParameter`)."""
    raw = request.args.get(name, "").strip()
    if not re.fullmatch(r"\+?[0-9]+", raw) or not raw.strip("+0"):
        return 1
    return int_arg(name, 1, 1, PAGE_MAX)


class RangedIntegerField(IntegerField):
    """An integer form field that reads its value with :func:`parse_int` and its bounds.

    WTForms' ``IntegerField`` takes any ``int()``: a 400-digit value passed the form and failed
    in the database. Out-of-range values get the field's message, next to the field.
    """

    def __init__(self, label: Any = None, validators: Any = None, *, low: int, high: int,
                 message: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.low, self.high = low, high
        self.range_message = message or _l("A whole number from %(low)s to %(high)s.",
                                            low=low, high=high)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            return
        try:
            self.data = parse_int(valuelist[0], self.low, self.high)
        except ValueError:
            self.data = None
            raise ValueError(str(self.range_message)) from None


class NulFreeValues(ImmutableMultiDict):
    """A request's query or form fields without NUL characters.

    Nobody types NUL, and PostgreSQL's text cannot hold it: a search or a form carrying one
    failed on central with a 500. It is dropped, everything else kept as sent.
    """

    def __init__(self, mapping: Any = None) -> None:
        if mapping is not None:
            mapping = [(key.replace("\x00", ""),
                        value.replace("\x00", "") if isinstance(value, str) else value)
                       for key, value in iter_multi_items(mapping)]
        super().__init__(mapping)


class AppRequest(Request):
    """The app's request: its query and form fields are :class:`NulFreeValues`."""

    parameter_storage_class = NulFreeValues


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in a URL, limited to what a 64-bit database integer holds.

    Werkzeug's converter takes any number of digits; ``/nodes/conflicts/99999999999999999999``
    reached the database and failed with a 500. A bigger number matches no route (404).
    """

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (Werkzeug's name)
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > 19:  # int() of thousands of digits is slow, and never in range
            from werkzeug.routing import ValidationError

            raise ValidationError()
        return super().to_python(value)


def new_key() -> str:
    """A fresh idempotency key for a create form."""
    return str(uuid.uuid4())


class CreateForm(FlaskForm):
    """A create form: carries an idempotency key so a double submit makes one record.

    The key is made when the form is first shown and travels with every re-submission
    (including the PWA's offline replay).
    """

    idempotency_key = HiddenField(
        default=new_key,
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z0-9-]{8,64}$",
                   message=_l("The form's key is malformed; reload the page.")),
        ],
    )
