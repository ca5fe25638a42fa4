"""The ``deliveries`` export's CSV, written for speed by a reader and writer of its own.

The deliveries are the one table counted in hundreds of thousands: :func:`deliveries_csv`
reads the table alone in one scan sorted by date, looks up the family, agreement and benefit
type of each delivery in dicts loaded first (their text ready) and writes each line with one
f-string. The tests hold it to the bytes Python's ``csv`` module writes from the rows of the
dataset's own query (:func:`.family_datasets._deliveries`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, String, case, cast, func, select, union

from fieldapp.agreements.models import Agreement, BenefitType
from fieldapp.communities.models import Community
from fieldapp.dashboard.conditions import delivery_conditions, in_community
from fieldapp.dashboard.csv_format import csv_text, decimal_text, rows_text, safe_text
from fieldapp.dashboard.datasets import family_cols, select_columns
from fieldapp.dashboard.filters import Filters
from fieldapp.dashboard.streaming import raw_select, read_batches
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family


def deliveries_csv(f: Filters) -> Iterator[str]:
    """The ``deliveries`` dataset's CSV lines (:func:`.family_datasets._deliveries`) in batches.

    250,000 deliveries must leave in seconds: the table is read alone, in one scan sorted by
    date (no join), the family, agreement and benefit type of each delivery (and the codes
    of the deliveries it reverses or may double) are taken as text from dicts loaded first,
    and each line is written by one f-string. A batch whose text shows a value that needs
    quoting or starts like a formula (or a comma in a looked-up value) is written again row
    by row through :func:`.csv_format.csv_text`, its text made safe
    (:func:`.csv_format.safe_text`; the looked-up text is safe already). The tests hold every
    export to the bytes Python's ``csv`` module writes from the rows of the dataset's own
    query, with the same rule.
    """
    families = _texts_by_id(
        select_columns(family_cols())
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
        key: safe_text(code)
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
    for batch in read_batches(raw_select(stmt)):
        lines = []
        reversals = 0
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
            amount = quantity if type(quantity) is str else decimal_text(quantity)
            # quantity > 0 (a check constraint): a reversal's is the same with a minus
            if reverses_id is not None:
                reversals += 1
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
            and _no_formula(text, reversals)
        ):
            yield text
        else:
            lookups = families, agreements, benefits, codes
            yield csv_text([_delivery_values(row, *lookups) for row in batch], writer, out)


#: A value starting like a formula, in a line with no quoted value: a comma before it.
_COMMA_FORMULA = re.compile(",[=+@\t]")
_COMMA_MINUS = re.compile(",-")


def _no_formula(text: str, reversals: int) -> bool:
    """Whether no value of a batch of fast-path lines starts like a formula (csv_format's
    rule); the looked-up values are safe text already, and a CR in a value sends the batch
    to the slow path anyway. About a millisecond per batch of 2,000 lines: ``=``, ``+``,
    ``@`` and tab are looked for alone first (one quick scan each; they are rare), and
    ``,-`` is counted by a regex (faster than ``str.count`` for two characters): the one a
    line may hold is a reversal's signed quantity, a number."""
    if ("=" in text or "+" in text or "@" in text or "\t" in text) and _COMMA_FORMULA.search(text):
        return False
    return len(_COMMA_MINUS.findall(text)) == reversals


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
    """The values of one line of :func:`deliveries_csv`, as text."""
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
    amount = quantity if type(quantity) is str else decimal_text(quantity)
    return [
        id_,
        safe_text(code or ""),
        day,
        *_apart(families[family_id]),
        *_apart(agreements[agreement_id]),
        *_apart(benefits[benefit_id]),
        safe_text(item or ""),
        amount,
        amount if reverses_id is None else "-" + amount,
        safe_text(unit or ""),
        safe_text(by or ""),
        safe_text(receipt or ""),
        "false" if reverses_id is None else "true",
        codes.get(reverses_id, ""),
        safe_text(reason or ""),
        codes.get(twin_id, ""),
    ]


def _text_id(column: Any) -> Any:
    """A UUID column as text: 32 hex digits on SQLite, dashed on PostgreSQL (str keys hash
    fast; the dicts' keys are the same text)."""
    return cast(column, String).label(column.key)


def _raw_rows(stmt: Select[Any]) -> Iterator[Any]:
    return (row for batch in read_batches(raw_select(stmt)) for row in batch)


def _texts_by_id(stmt: Select[Any], kinds: list[str], keep_id: bool = False) -> dict[str, Any]:
    """The rows of ``stmt`` by their first value as text (:func:`_text_id`): their values as
    text (by the columns' ``kinds``; without the first unless ``keep_id``), joined with
    commas, and apart only when a value holds a comma (:func:`_apart` splits the others back).

    Read a batch at a time and kept as one string a row: at scale 100 the families and
    agreements looked up are 227,000 rows, held for the whole export.
    """
    found: dict[str, Any] = {}
    for batch in read_batches(raw_select(stmt)):
        for row, text in zip(batch, rows_text(kinds, batch), strict=True):
            values = text if keep_id else text[1:]
            joined = ",".join(values)
            found[str(row[0])] = (joined, None if joined.count(",") == len(values) - 1
                                  else values)
    return found


def _apart(entry: tuple[str, list[str] | None]) -> list[str]:
    """A looked-up row's values (:func:`_texts_by_id`)."""
    return entry[1] if entry[1] is not None else entry[0].split(",")
