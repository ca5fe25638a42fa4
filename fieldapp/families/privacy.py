"""What a family that withdrew its consent to data use still shows (issue 24, Ley 29733).

A family that left the program keeps its history (agreements, deliveries, attendance, visits
still count where they happened). When it left because it **withdrew consent**, every export
and printout leaves out its personal data: the names of its head and of the people who signed or
attended for it, DNI, phone and plot locations (the family's and its visits' GPS), plot name.
What stays: the family's code (a pseudonym the program issued), its community and the records'
own figures. One rule, used by the datasets (CSV/XLSX, lists), the printouts and the
verification page: :func:`hides_personal_data` for a loaded family, :func:`private` in SQL.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import case, null

from fieldapp.families.models import Family

#: The withdrawal reason after which a family's personal data is no longer shown.
CONSENT_WITHDRAWN = "consent_withdrawn"

T = TypeVar("T")


def hides_personal_data(family: Any) -> bool:
    """Whether ``family`` (a :class:`Family`, or ``None``) withdrew its consent to data use."""
    return getattr(family, "withdrawn_reason", None) == CONSENT_WITHDRAWN


def shown(family: Any, value: T) -> T | None:
    """``value``, or ``None`` when ``family`` withdrew its consent (a printout's field)."""
    return None if hides_personal_data(family) else value


def private(expr: Any, family: Any = Family) -> Any:
    """``expr`` in SQL, NULL for the rows whose ``family`` (the table or an alias of it)
    withdrew its consent."""
    return case((family.withdrawn_reason == CONSENT_WITHDRAWN, null()), else_=expr)
