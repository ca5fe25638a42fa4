"""The dashboard's filters: read from the query string, checked, and turned into SQL conditions.

Every page of the dashboard (figures, map, lists, exports, the summary PDF) takes the same
filters, so a coordinator who narrows the dashboard takes away exactly the data they looked at.
Impossible values raise :class:`fieldapp.errors.ValidationFailed` with one message per field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, or_, select, true

from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.forms import parse_int
from fieldapp.submissions import local_today, parse_uuid

#: Bounds of what a person could mean; anything outside is a typo, not a question.
MIN_YEAR, MAX_YEAR = 2000, 2100
PER_PAGE_MAX = 200
#: The query-string arguments of a selection (``page`` is each link's own).
FILTER_KEYS = ("from", "to", "community", "staff", "per_page", "months", "days")
PAGE_MAX = 100_000
MONTHS_MAX = 60
DAYS_MAX = 730


@dataclass(frozen=True)
class Filters:
    """What the coordinator asked to see.

    The period is whole months: ``date_from`` is the first day of the first month and
    ``date_to`` the last day of the last month. They bound the events counted (deliveries,
    visits, trainings); snapshot figures (agreements in force, compliance, sanctions) are taken
    at :attr:`asof`.
    """

    date_from: date
    date_to: date
    today: date
    community_id: uuid.UUID | None = None
    community_name: str | None = None
    staff_id: uuid.UUID | None = None
    staff_name: str | None = None
    page: int = 1
    per_page: int = 25
    months: int = 3
    days: int = 90
    #: Arguments given explicitly (kept in links so paging and exports keep the selection).
    given: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def asof(self) -> date:
        """The day snapshot figures are taken: the period's end, or today if that is earlier."""
        return min(self.date_to, self.today)

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (UTC), for timestamp columns."""
        return datetime.combine(self.date_from, time(), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The instant after the period's last day (UTC), exclusive."""
        return datetime.combine(self.date_to + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def asof_end_at(self) -> datetime:
        """The instant after the snapshot day (UTC), exclusive."""
        return datetime.combine(self.asof + timedelta(days=1), time(), tzinfo=UTC)

    def args(self, **overrides: Any) -> dict[str, str]:
        """The query-string arguments that reproduce this selection (for links).

        Only the filters: anything else in the query string (``?fmt=x``, ``?name=``) clashed
        with the link's own arguments and failed the page with a 500.
        """
        out = {k: v for k, v in self.given.items() if k in FILTER_KEYS}
        out.update({k: str(v) for k, v in overrides.items() if v is not None})
        return out

    def with_page(self, page: int) -> Filters:
        """The same selection on another page."""
        return replace(self, page=page)

    def staff_match(self, id_column: Any, name_column: Any) -> ColumnElement[bool]:
        """Whether a record was made by the chosen staff member (by user id, else by name).

        Records imported or generated without a user id carry the person's name only.
        """
        if self.staff_id is None:
            return true()
        return or_(id_column == self.staff_id, name_column == self.staff_name)

    def describe(self) -> list[tuple[str, str]]:
        """Human labels of the selection, for headers of the page and the PDF."""
        from flask_babel import format_date

        parts = [
            (_("Period"), f"{format_date(self.date_from)} – {format_date(self.date_to)}"),
            (_("Situation on"), format_date(self.asof)),
        ]
        parts.append((_("Community"), self.community_name or _("All communities")))
        parts.append((_("Staff member"), self.staff_name or _("Everyone")))
        return parts


def program_today() -> date:
    """Today for the dashboard: ``DASHBOARD_TODAY`` (ISO date) when configured, else the clock.

    Setting it lets a demo or a test look at the program as it stood on a given day.
    """
    configured = current_app.config.get("DASHBOARD_TODAY")
    if isinstance(configured, date):
        return configured
    if configured:
        return date.fromisoformat(str(configured))
    return local_today()


def month_start(value: date) -> date:
    """The first day of ``value``'s month."""
    return value.replace(day=1)


def month_end(value: date) -> date:
    """The last day of ``value``'s month."""
    following = date(value.year + (value.month == 12), value.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _parse_month(raw: str, name: str, errors: dict[str, str]) -> date | None:
    """A ``YYYY-MM`` month (its first day), or ``None`` with a message in ``errors``."""
    text = raw.strip()
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        value = date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        errors[name] = _("Enter the month as YYYY-MM, for example 2026-03.")
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[name] = _(
            "Choose a month between %(start)s and %(end)s.", start=MIN_YEAR, end=MAX_YEAR
        )
        return None
    return value


def _parse_int(
    raw: str | None,
    name: str,
    default: int,
    low: int,
    high: int,
    message: str,
    errors: dict[str, str],
) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse_int(raw, low, high)
    except ValueError:
        errors[name] = message
        return default


def _community(raw: str, errors: dict[str, str]) -> tuple[uuid.UUID | None, str | None]:
    from fieldapp.communities.models import Community

    community_id = parse_uuid(raw.strip())
    row = None
    if community_id is not None:
        row = db.session.execute(
            select(Community.id, Community.name).where(
                Community.id == community_id, Community.voided.is_(False)
            )
        ).first()
    if row is None:
        errors["community"] = _("This community does not exist. Choose one from the list.")
        return None, None
    return row.id, row.name


def _staff(raw: str, errors: dict[str, str]) -> tuple[uuid.UUID | None, str | None]:
    from fieldapp.auth.models import User

    user_id = parse_uuid(raw.strip())
    row = None
    if user_id is not None:
        row = db.session.execute(select(User.id, User.full_name).where(User.id == user_id)).first()
    if row is None:
        errors["staff"] = _("This staff member does not exist. Choose one from the list.")
        return None, None
    return row.id, row.full_name


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Read and check the filters of a request's query string.

    :param args: the query string (``request.args``).
    :raises ValidationFailed: with ``details={"fields": {name: message}}`` for every bad value.
    """
    errors: dict[str, str] = {}
    today = program_today()
    given = {k: v for k, v in args.items() if v not in ("", None)}

    first = _parse_month(given["from"], "from", errors) if "from" in given else None
    last = _parse_month(given["to"], "to", errors) if "to" in given else None
    if last is None and "to" not in errors:
        last = month_start(today)
    if first is None and "from" not in errors and last is not None:
        first = date(last.year, 1, 1)
    if first and last and last < first:
        errors["to"] = _("The end of the period is before its start.")
    date_from = first
    date_to = month_end(last) if last else None

    community_id = community_name = staff_id = staff_name = None
    if "community" in given:
        community_id, community_name = _community(given["community"], errors)
    if "staff" in given:
        staff_id, staff_name = _staff(given["staff"], errors)

    page = _parse_int(
        given.get("page"),
        "page",
        1,
        1,
        PAGE_MAX,
        _("The page must be a whole number from 1 to %(max)s.", max=PAGE_MAX),
        errors,
    )
    per_page = _parse_int(
        given.get("per_page"),
        "per_page",
        25,
        1,
        PER_PAGE_MAX,
        _("Rows per page must be a whole number from 1 to %(max)s.", max=PER_PAGE_MAX),
        errors,
    )
    months = _parse_int(
        given.get("months"),
        "months",
        3,
        1,
        MONTHS_MAX,
        _("Months must be a whole number from 1 to %(max)s.", max=MONTHS_MAX),
        errors,
    )
    days = _parse_int(
        given.get("days"),
        "days",
        90,
        1,
        DAYS_MAX,
        _("Days must be a whole number from 1 to %(max)s.", max=DAYS_MAX),
        errors,
    )
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(first, fields=errors)
    assert date_from is not None
    assert date_to is not None
    return Filters(
        date_from=date_from,
        date_to=date_to,
        today=today,
        community_id=community_id,
        community_name=community_name,
        staff_id=staff_id,
        staff_name=staff_name,
        page=page,
        per_page=per_page,
        months=months,
        days=days,
        given=given,
    )


def default_filters() -> Filters:
    """The selection shown when the query string is unusable: this year to date, everything."""
    today = program_today()
    return Filters(date_from=date(today.year, 1, 1), date_to=month_end(today), today=today)


def all_records() -> Filters:
    """The selection of every record, whenever dated: the period spans every year a person
    could mean (:data:`MIN_YEAR` to :data:`MAX_YEAR`), so the datasets' period conditions
    keep everything; snapshot columns are taken today. What the read API serves
    (:mod:`fieldapp.api`): the datasets' own queries, nothing copied."""
    today = program_today()
    return Filters(date_from=date(MIN_YEAR, 1, 1), date_to=date(MAX_YEAR, 12, 31), today=today)


def quick_periods(today: date) -> list[tuple[str, date, date]]:
    """Shortcuts offered next to the period fields, as (label, first month, last month)."""
    q_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    q_end = date(q_start.year, q_start.month + 2, 1)
    prev_end = q_start - timedelta(days=1)
    prev_start = date(prev_end.year, 3 * ((prev_end.month - 1) // 3) + 1, 1)
    this_month = month_start(today)
    year_ago = date(today.year - 1, today.month, 1)
    return [
        (_("This quarter"), q_start, q_end),
        (_("Last quarter"), prev_start, month_start(prev_end)),
        (_("This year"), date(today.year, 1, 1), this_month),
        (_("Last 12 months"), month_start(year_ago + timedelta(days=31)), this_month),
    ]
