"""Registering and changing families. The rules are checked here, not only in forms."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.audit.operations import record, snapshot
from fieldapp.auth.access import check_write_scope
from fieldapp.codes import next_code
from fieldapp.communities.models import Community
from fieldapp.errors import AppError, ConfirmationNeeded, ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import WITHDRAWAL_REASONS, DistinctFamilies, Family
from fieldapp.models import utcnow

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


def _clean(data: dict[str, Any]) -> dict[str, Any]:
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
    return family_problems(_clean(dict(raw)), family, stored=stored)


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


def _dni(dni: str, family: Family | None) -> Problems:
    """Eight digits, and no other family holds it.

    Two nodes may each have registered a family with one DNI before they synced: then several
    families hold it. All of them are named (code and name), so that the person can tell which
    one is the duplicate; nothing is saved until the DNI is unique again.
    """
    if not re.fullmatch(r"[0-9]{8}", dni):
        yield "dni", _l("A DNI has exactly 8 digits.")
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

    :param data: the editable fields (see :data:`EDITABLE`), and ``confirm_not_duplicate``
        (the person confirmed it is not a family already registered).
    :raises ValidationFailed: a value breaks a rule.
    :raises PossibleDuplicate: it looks like a family already registered, unconfirmed.
    """
    clean = _clean(data)
    validate_family(clean)
    check_write_scope(clean["community_id"], "community_id")
    check_possible_duplicates(clean, bool(data.get("confirm_not_duplicate")))
    family = Family(code=next_code(), **clean)
    if family.data_consent:
        family.consent_at = utcnow()
    db.session.add(family)
    db.session.flush()  # the id, for the audit entry's family
    record("create", family, family_id=family.id)
    return family


def update_family(family: Family, data: dict[str, Any]) -> Family:
    """Change a family's fields; the audit log keeps what changed.

    :raises ValidationFailed: a value breaks a rule.
    """
    check_write_scope(family.community_id)
    clean = _clean(data)
    validate_family(clean, family)
    check_write_scope(clean["community_id"], "community_id")
    before = snapshot(family)
    if clean["data_consent"] and not family.data_consent:
        family.consent_at = utcnow()
    for key, value in clean.items():
        setattr(family, key, value)
    record("update", family, before=before, family_id=family.id)
    return family


# -- merges and withdrawals ----------------------------------------------------------------------

class MergeRefused(AppError):
    """A merge that cannot be made (``details["reason"]`` says which rule)."""

    code = "merge_refused"
    status = 409
    message = _l("These families cannot be merged.")


def _family_tables() -> list[Any]:
    """The models whose records point at a family (re-pointed by a merge)."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.models import AuditEntry
    from fieldapp.compliance.models import ComplianceVisit, Sanction
    from fieldapp.deliveries.models import Delivery

    return [Agreement, Delivery, ComplianceVisit, Sanction, AuditEntry]


def merge_families(survivor: Family, merged: Family, chosen_values: Mapping[str, Any],
                   user: Any, versions: tuple[int, int] | None = None) -> Family:
    """Merge ``merged`` (one family registered twice) into ``survivor``, on central.

    The survivor takes ``chosen_values`` (field by field; a field not given keeps the
    survivor's); every record of the merged family (agreements, deliveries, visits,
    sanctions, attendance, audit) is re-pointed to the survivor, attendance as a set (a
    session both attended stays one row); the merged family becomes a voided tombstone naming
    the survivor (``merged_into_id``), which its page and code follow. The changed rows reach
    the nodes through the ordinary sync. The audit keeps both families' values before.

    :param versions: the (survivor, merged) versions the coordinator saw; a change since then
        refuses the merge (two coordinators at once, or a push in between).
    :raises MergeRefused: ``itself``, ``tombstone`` (either is merged or voided), ``stale``.
    :raises ValidationFailed: the chosen values break a family rule.
    """
    from sqlalchemy import delete, update

    from fieldapp.trainings.models import Attendance

    if survivor.id == merged.id:
        raise MergeRefused(_l("A family cannot be merged into itself."), reason="itself")
    # The two rows locked (PostgreSQL) and read again: of two coordinators merging at once,
    # the second sees the first's tombstone (SQLite serialises the writers).
    db.session.execute(select(Family.id).where(Family.id.in_([survivor.id, merged.id]))
                       .with_for_update())
    db.session.refresh(survivor)
    db.session.refresh(merged)
    if merged.merged_into_id is not None or survivor.merged_into_id is not None:
        raise MergeRefused(_l("One of these families was already merged."), reason="tombstone")
    if merged.voided or survivor.voided:
        raise MergeRefused(_l("A voided family cannot be merged."), reason="tombstone")
    if versions is not None and versions != (survivor.version, merged.version):
        raise MergeRefused(_l("One of these families changed since you opened this page (another "
                              "coordinator, or a sync). Look at them again."), reason="stale")
    check_write_scope(survivor.community_id)
    before_survivor, before_merged = snapshot(survivor), snapshot(merged)
    merged.voided = True
    merged.merged_into_id = survivor.id
    db.session.flush()  # the merged family's DNI is free for the survivor
    values = {key: getattr(survivor, key) for key in EDITABLE}
    values.update({k: v for k, v in chosen_values.items() if k in EDITABLE})
    clean = _clean(values)
    validate_family(clean, survivor)
    if clean["data_consent"] and not survivor.data_consent:
        survivor.consent_at = merged.consent_at or utcnow()
    for key, value in clean.items():
        setattr(survivor, key, value)
    for model in _family_tables():
        db.session.execute(update(model).where(model.family_id == merged.id)
                           .values(family_id=survivor.id))
    # Attendance is a set per session and family: a session both attended stays one row.
    mine = {a.session_id: a for a in db.session.execute(
        select(Attendance).where(Attendance.family_id == survivor.id)).scalars()}
    for row in db.session.execute(
            select(Attendance).where(Attendance.family_id == merged.id)).scalars().all():
        kept = mine.get(row.session_id)
        if kept is None:
            row.family_id = survivor.id
            continue
        if kept.voided and not row.voided:  # present on either side: present
            kept.voided = False
        db.session.execute(delete(Attendance).where(Attendance.id == row.id))
    db.session.flush()
    record("merge", survivor, before=before_survivor, family_id=survivor.id)
    record("merged_into", merged, before=before_merged, family_id=survivor.id)
    _close_dni_conflicts(survivor.id, merged.id, "same", user)
    return survivor


def _close_dni_conflicts(a_id: uuid.UUID, b_id: uuid.UUID, resolution: str, user: Any) -> None:
    """Resolve the open "one DNI on two families" conflicts of this pair (sync flagged it on a
    push; the review decided it): one decision, not two screens asking it."""
    from sqlalchemy import and_, or_, update

    from fieldapp.nodes.models import SYNC_TABLES

    c = SYNC_TABLES.conflicts
    pair = or_(and_(c.c.row_id == a_id, c.c.other_row_id == b_id),
               and_(c.c.row_id == b_id, c.c.other_row_id == a_id))
    db.session.execute(update(c).where(c.c.status == "open", c.c.kind == "duplicate_dni", pair)
                       .values(status="resolved", resolution=resolution,
                               resolved_by=getattr(user, "username", None) or "?",
                               resolved_at=utcnow(), updated_at=utcnow()))


def mark_distinct(a: Family, b: Family, user: Any) -> None:
    """Remember that ``a`` and ``b`` are two families: never proposed as duplicates again."""
    if a.id == b.id:
        raise MergeRefused(_l("A family cannot be merged into itself."), reason="itself")
    first, second = sorted((a.id, b.id), key=str)
    exists = db.session.execute(select(DistinctFamilies.id).where(
        DistinctFamilies.family_a_id == first, DistinctFamilies.family_b_id == second)).first()
    if exists is None:
        db.session.add(DistinctFamilies(family_a_id=first, family_b_id=second,
                                        decided_by=getattr(user, "username", None) or "?"))
    db.session.flush()
    _close_dni_conflicts(a.id, b.id, "different", user)


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
