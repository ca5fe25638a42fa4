"""Registering and changing families. The rules are checked here, not only in forms."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.codes import next_code, next_codes
from fieldapp.communities.models import Community
from fieldapp.errors import ConfirmationNeeded, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import WITHDRAWAL_REASONS, Family
from fieldapp.models import utcnow
from fieldapp.submissions import chosen_record_id

EDITABLE = (
    "community_id",
    "head_given_names",
    "head_surname",
    "dni",
    "members_count",
    "phone",
    "lat",
    "lon",
    "plot_name",
    "plot_ha",
    "forest_ha",
    "coffee_ha",
    "data_consent",
    "notes",
)
_TEXT = {"head_given_names", "head_surname", "dni", "phone", "plot_name", "notes"}


def clean_family_data(data: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in EDITABLE:
        value = data.get(key)
        if key in _TEXT and isinstance(value, str):
            value = " ".join(value.split()) if key != "notes" else value.strip()
            value = value or None
        clean[key] = value
    if isinstance(clean["community_id"], str):
        try:
            clean["community_id"] = uuid.UUID(clean["community_id"])
        except ValueError:
            clean["community_id"] = None
    clean["data_consent"] = bool(clean["data_consent"])
    return clean


def family_problems(data: Mapping[str, Any], family: Family | None = None, *,
                    stored: bool = True) -> dict[str, Any]:
    """Every rule a family's values break, as ``{field: message}`` (one per field, in the
    form's order): the form shows them all at once, not one per submit (a person fixing the
    DNI should not then learn that forest and coffee exceed the plot).

    :param data: cleaned values (see :func:`_clean`).
    :param stored: also check what needs the database (the community exists, the DNI is free).
    """
    problems: dict[str, Any] = {}
    checks = [_names(data)]
    if stored:
        checks.append(_community(data))
        if data.get("dni") is not None:
            checks.append(_dni(data["dni"], family))
    checks += [_members(data), _land(data)]
    for check in checks:
        for field, message in check:
            problems.setdefault(field, message)
    return problems


def form_problems(raw: Mapping[str, Any], family: Family | None = None, *,
                  stored: bool = True) -> dict[str, Any]:
    """:func:`family_problems` of a form's raw values (as :func:`create_family` cleans them)."""
    return family_problems(clean_family_data(dict(raw)), family, stored=stored)


def _raise_first(problems: dict[str, Any]) -> None:
    if problems:
        field, message = next(iter(problems.items()))
        raise ValidationFailed(message, field=field,
                               fields={name: str(text) for name, text in problems.items()})


def validate_family(data: dict[str, Any], family: Family | None = None) -> None:
    """Check a family's values against the program's rules.

    :raises ValidationFailed: ``field`` names the first offending field, ``fields`` all of them.
    """
    _raise_first(family_problems(data, family))


def check_family_values(data: Mapping[str, Any]) -> None:
    """The rules on a family's own values (names, members, plot), without the database: the
    form's and central's for a family a node pushes (the community is the sync scope's, the DNI
    format the table's constraint, a DNI on two families a conflict for a coordinator).

    :raises ValidationFailed: with ``field`` naming the first offending field.
    """
    _raise_first(family_problems(data, stored=False))


Problems = Iterator[tuple[str, Any]]


def _names(data: Mapping[str, Any]) -> Problems:
    for field in ("head_given_names", "head_surname"):
        if not data.get(field):
            yield field, _l("This field is required.")


def _community(data: Mapping[str, Any]) -> Problems:
    community = db.session.get(Community, data["community_id"]) if data.get("community_id") \
        else None
    if community is None or community.voided:
        yield "community_id", _l("Choose a community.")


def _members(data: Mapping[str, Any]) -> Problems:
    members = data.get("members_count")
    if not isinstance(members, int) or not 1 <= members <= 50:
        yield "members_count", _l("Between 1 and 50.")


def dni_format_problem(dni: str) -> Any:
    """What is wrong with how ``dni`` is written (eight digits), or ``None``."""
    return None if re.fullmatch(r"[0-9]{8}", dni) else _l("A DNI has exactly 8 digits.")


def _dni(dni: str, family: Family | None) -> Problems:
    """Eight digits, and no other family holds it.

    Two nodes may each have registered a family with one DNI before they synced: then several
    families hold it. All of them are named (code and name), so that the person can tell which
    one is the duplicate; nothing is saved until the DNI is unique again.
    """
    if (problem := dni_format_problem(dni)) is not None:
        yield "dni", problem
        return
    clashes = [other for other in db.session.execute(
        select(Family).where(Family.dni == dni, Family.voided.is_(False))
        .order_by(Family.code)).scalars() if other is not family]
    if len(clashes) == 1:
        yield "dni", _l("This DNI is already registered for family %(code)s.",
                        code=clashes[0].code)
    elif clashes:
        yield "dni", _l("This DNI is registered for several families: %(families)s. Correct the "
                        "DNI of the duplicates first.",
                        families=", ".join(f"{f.code} ({f.head_name})" for f in clashes))


def _land(data: Mapping[str, Any]) -> Problems:
    """The plot's position and areas."""
    for field, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        value = data.get(field)
        if value is not None and (not math.isfinite(value) or not low <= value <= high):
            yield field, _l("Between %(low)s and %(high)s.", low=low, high=high)
    bad_area = False
    for field in ("plot_ha", "forest_ha", "coffee_ha"):
        value = data.get(field)
        if value is not None and (not math.isfinite(value) or not 0 <= value <= 10000):
            bad_area = True
            yield field, _l("Between 0 and 10,000 ha.")
    plot = data.get("plot_ha")
    used = (data.get("forest_ha") or 0) + (data.get("coffee_ha") or 0)
    if not bad_area and plot is not None and used > plot + 1e-9:
        yield "forest_ha", _l("Forest and coffee together cannot exceed the plot.")


class PossibleDuplicate(ConfirmationNeeded):
    """The family looks like one already registered (similar name nearby, same plot or phone):
    saved only once the person confirms it is another family."""

    code = "possible_duplicate"


def check_possible_duplicates(clean: dict[str, Any], confirmed: bool) -> None:
    """Stop a registration that looks like a family already registered, unless confirmed.

    :raises PossibleDuplicate: naming the families (code, name, page) it may double.
    """
    if confirmed:
        return
    from flask import url_for

    from fieldapp.families.queries import possible_duplicates

    found = possible_duplicates(clean)
    if not found:
        return
    raise PossibleDuplicate(
        _l("This family may already be registered: %(families)s. Open it instead, or tick the "
           "box to register a different family.",
           families=", ".join(f"{f.code} ({f.head_name})" for f, _m in found)),
        confirm="confirm_not_duplicate",
        families=[{"code": f.code, "name": f.head_name, "score": m.score,
                   "url": url_for("families.detail", family_id=f.id)} for f, m in found])


def create_family(data: dict[str, Any]) -> Family:
    """Register a family with a new code (``AM-<node>-0042``).

    :param data: the editable fields (see :data:`EDITABLE`), ``confirm_not_duplicate``
        (the person confirmed it is not a family already registered) and ``record_id`` (the id
        a tablet made for a family registered offline; empty: a new one).
    :raises ValidationFailed: a value breaks a rule, or the chosen id is malformed.
    :raises RecordIdTaken: another record holds the chosen id.
    :raises PossibleDuplicate: it looks like a family already registered, unconfirmed.
    """
    clean = clean_family_data(data)
    validate_family(clean)
    check_write_scope(clean["community_id"], "community_id")
    record_id = chosen_record_id(data.get("record_id"), Family)
    check_possible_duplicates(clean, bool(data.get("confirm_not_duplicate")))
    family = Family(code=next_code(), **clean)
    if record_id is not None:
        family.id = record_id
    if family.data_consent:
        family.consent_at = utcnow()
    db.session.add(family)
    db.session.flush()  # the id, for the audit entry's family
    record("create", family, family_id=family.id)
    return family


def create_families(rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Register many families at once (an imported register), each through the rules of
    :func:`create_family`, checked for the whole batch with a query each instead of several
    a family: the values (:func:`family_problems`), the community (live, in the user's scope),
    the DNI (well written, held by no other family, nor twice in the batch). Codes are handed
    out in one step, the families written in one INSERT, an audit entry each.

    The rows count as confirmed not to be duplicates: the caller judged them
    (:mod:`fieldapp.imports.preview`, with the families' own rule).

    :param rows: the editable fields of each family (see :data:`EDITABLE`).
    :returns: the new families' ids, in order.
    :raises ValidationFailed: the first rule a row breaks; nothing of the batch is written.
    """
    from fieldapp.audit.operations import record_many, values
    from fieldapp.families.models import search_text_for
    from fieldapp.models import current_node_id, new_id

    if not rows:
        return []
    cleans = [clean_family_data(r) for r in rows]
    for clean in cleans:
        _raise_first(family_problems(clean, stored=False))
        if clean["dni"] is not None and (problem := dni_format_problem(clean["dni"])):
            raise ValidationFailed(problem, field="dni")
    communities = {c["community_id"] for c in cleans}
    live = set(db.session.execute(select(Community.id).where(
        Community.id.in_(communities), Community.voided.is_(False))).scalars())
    for community_id in communities:
        if community_id not in live:
            raise ValidationFailed(_l("Choose a community."), field="community_id")
        check_write_scope(community_id, "community_id")
    dnis = [c["dni"] for c in cleans if c["dni"]]
    if len(dnis) != len(set(dnis)):
        raise ValidationFailed(_l("This DNI is on two of the families: %(dni)s.",
                                  dni=next(d for d in dnis if dnis.count(d) > 1)), field="dni")
    for batch in (dnis[i:i + 500] for i in range(0, len(dnis), 500)):
        taken = db.session.execute(select(Family.code).where(
            Family.dni.in_(batch), Family.voided.is_(False)).limit(1)).scalar()
        if taken is not None:
            raise ValidationFailed(_l("This DNI is already registered for family %(code)s.",
                                      code=taken), field="dni")
    now, node = utcnow(), current_node_id()
    new_rows = []
    for clean, code in zip(cleans, next_codes(len(cleans)), strict=True):
        row = {"id": new_id(), "code": code, **clean, "origin_node": node, "created_at": now,
               "updated_at": now, "version": 1, "voided": False, "status": "active",
               "consent_at": now if clean["data_consent"] else None}
        row["search_text"] = search_text_for(row)
        new_rows.append(row)
    db.session.execute(insert(Family), new_rows)
    record_many(Family.__tablename__, [("create", r["id"], r["id"], None, values(r))
                                       for r in new_rows])
    return [r["id"] for r in new_rows]


def update_family(family: Family, data: dict[str, Any]) -> Family:
    """Change a family's fields; the audit log keeps what changed.

    :raises ValidationFailed: a value breaks a rule.
    """
    check_write_scope(family.community_id)
    clean = clean_family_data(data)
    validate_family(clean, family)
    check_write_scope(clean["community_id"], "community_id")
    before = snapshot(family)
    if clean["data_consent"] and not family.data_consent:
        family.consent_at = utcnow()
    for key, value in clean.items():
        setattr(family, key, value)
    record("update", family, before=before, family_id=family.id)
    return family


# -- withdrawals -----------------------------------------------------------------------------

def withdraw_family(family: Family, reason: str, on: Any) -> Family:
    """Mark a family as having left the program (moved away, deceased, withdrew consent): it
    keeps its history and stops counting in lists and targets.

    :raises ValidationFailed: an unknown reason, or no date.
    """
    check_write_scope(family.community_id)
    if reason not in WITHDRAWAL_REASONS:
        raise ValidationFailed(_l("Choose one of the options."), field="reason")
    if on is None:
        raise ValidationFailed(_l("This field is required."), field="withdrawn_on")
    before = snapshot(family)
    family.status = "withdrawn"
    family.withdrawn_reason = reason
    family.withdrawn_on = on
    record("withdraw", family, before=before, family_id=family.id)
    return family
