"""Registering, enrolling and revoking nodes on central; resolving sync conflicts."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from fieldapp.agreements.rules import SET_ASIDE
from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.instance import CODE_ALPHABET, new_node_code
from fieldapp.models import utcnow
from fieldapp.nodes.directory import enrolment_expiry
from fieldapp.nodes.models import Node

#: Any node code ever issued: 2 to 8 capital letters or digits (older codes may hold vowels).
NODE_CODE_RE = re.compile(r"^[A-Z0-9]{2,8}$")


def check_new_node_code(code: str) -> str:
    """``code`` normalised (upper case), if it may be given to a new node: 2 to 8 characters of
    :data:`~fieldapp.instance.CODE_ALPHABET` (no vowels: a code never spells a word on a public
    page), not used by a registered node nor by this installation itself.

    :raises ValidationFailed: on ``code`` (``validation_failed``), saying which rule failed.
    """
    code = (code or "").strip().upper()
    if not 2 <= len(code) <= 8:
        raise ValidationFailed(_l("2 to 8 characters."), field="code")
    wrong = sorted({ch for ch in code if ch not in CODE_ALPHABET})
    if wrong:
        raise ValidationFailed(
            _l("Not allowed in a node code: %(chars)s. Use only %(alphabet)s (no vowels, so a "
               "code never spells a word).", chars=" ".join(wrong), alphabet=CODE_ALPHABET),
            field="code")
    taken = db.session.execute(select(Node.id).where(Node.code == code)).first()
    if taken or code == current_app.config.get("NODE_CODE"):
        raise ValidationFailed(_l("Another node already has this code."), field="code")
    return code


def suggest_node_code(length: int = 3) -> str:
    """A free code for a new node, drawn from the vowel-free alphabet (the admin may change it)."""
    for _attempt in range(200):
        code = new_node_code(length)
        try:
            return check_new_node_code(code)
        except ValidationFailed:
            continue
    return suggest_node_code(length + 1)


def _communities(ids_or_codes: Iterable[Any]) -> list[Community]:
    found = []
    for value in ids_or_codes:
        if isinstance(value, uuid.UUID):
            community = db.session.get(Community, value)
        else:
            text = str(value).strip()
            try:
                community = db.session.get(Community, uuid.UUID(text))
            except ValueError:
                community = db.session.execute(
                    select(Community).where(Community.code == text)
                ).scalar_one_or_none()
        if community is None or community.voided:
            raise ValidationFailed(_l("Unknown community: %(value)s", value=value),
                                   field="communities")
        found.append(community)
    return found


def register_node(name: str, code: str, communities: Iterable[Any] = (),
                  all_communities: bool = False,
                  node_id: uuid.UUID | None = None, *,
                  issued_code: bool = False) -> tuple[Node, str]:
    """Register a field node and make its one-time enrolment code.

    :param code: the node's short code, chosen by the admin (see :func:`check_new_node_code`),
        part of its records' codes (``AM-<code>-0042``).
    :param issued_code: ``code`` was issued before the vowel-free alphabet (an installation
        that already prints it): only its shape is checked, and that it is free.
    :param communities: ids or codes of the communities the node serves.
    :param node_id: the id the node's installation already uses (its records' ``origin_node``,
        which central checks against the node that pushes them); a new one by default.
    :returns: the node and its enrolment code (shown once; only its hash is stored).
    :raises ValidationFailed: a name or code is missing or taken, a community is unknown.
    """
    name = " ".join((name or "").split())
    code = (code or "").strip().upper()
    if not name:
        raise ValidationFailed(_l("This field is required."), field="name")
    if not issued_code:
        code = check_new_node_code(code)
    elif not NODE_CODE_RE.match(code):
        raise ValidationFailed(_l("2 to 8 capital letters or digits."), field="code")
    elif db.session.execute(select(Node.id).where(Node.code == code)).first():
        raise ValidationFailed(_l("Another node already has this code."), field="code")
    chosen = _communities(communities)
    if not chosen and not all_communities:
        raise ValidationFailed(_l("Choose the communities this node serves."),
                               field="communities")
    node = Node(name=name, code=code, all_communities=all_communities, communities=chosen)
    if node_id is not None:
        node.id = node_id
    db.session.add(node)
    enrol_code = issue_enrolment_code(node)
    return node, enrol_code


def issue_enrolment_code(node: Node) -> str:
    """A new one-time enrolment code for ``node`` (the old credential keeps working until the
    node enrols with it), e.g. ``K7Q-4MXT-9PQA``."""
    secret = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    code = f"{node.code}-{secret[:4]}-{secret[4:]}"
    node.enrol_code_hash = generate_password_hash(code)
    node.enrol_expires_at = enrolment_expiry(current_app.config.get("SYNC_ENROL_TTL",
                                                                    7 * 24 * 3600))
    db.session.flush()
    return code


def revoke_node(node: Node) -> None:
    """Refuse the node from now on (``node_revoked``); its unsynced changes stay on the node."""
    node.revoked_at = utcnow()
    node.enrol_code_hash = None
    node.enrol_expires_at = None
    db.session.flush()


def update_node(node: Node, name: str, communities: Iterable[Any],
                all_communities: bool) -> None:
    """Change a node's name and scope."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_l("This field is required."), field="name")
    chosen = _communities(communities)
    if not chosen and not all_communities:
        raise ValidationFailed(_l("Choose the communities this node serves."),
                               field="communities")
    node.name = name
    node.communities = chosen
    node.all_communities = all_communities
    db.session.flush()


# -- conflicts ---------------------------------------------------------------------------------
def parse_typed(column: Any, text: str | None) -> Any:
    """A value typed by a coordinator, as the column's Python type.

    :raises ValidationFailed: the text does not fit the column.
    """
    from datetime import date
    from decimal import Decimal, InvalidOperation

    from sqlalchemy import Boolean, Date, Float, Integer, Numeric

    text = (text or "").strip()
    if not text:
        return None
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            return text.lower() in ("1", "true", "yes", "sí", "si")
        if isinstance(kind, Integer):  # the app's one integer parser, 64-bit bounded
            from fieldapp.forms import parse_int

            return parse_int(text, -(2**63), 2**63 - 1)
        if isinstance(kind, Float):
            return float(text.replace(",", "."))
        if isinstance(kind, Numeric):
            return Decimal(text.replace(",", "."))
        if isinstance(kind, Date):
            return date.fromisoformat(text)
    except (ValueError, InvalidOperation) as error:
        raise ValidationFailed(_l("This value does not fit the field."), field="value") from error
    return text


def _spec_and_record(conflict: Any) -> tuple[Any, Any]:
    state = current_app.extensions["sync"]
    spec = state.registry.get(conflict.table_name)
    record = db.session.get(spec.model, conflict.row_id) if spec is not None else None
    if record is None:
        raise ValidationFailed(_l("The record of this conflict no longer exists."),
                               field="choice")
    return spec, record


def resolve_conflict(conflict_id: int, choice: str, value: str | None, username: str,
                     user: Any = None) -> None:
    """Apply a coordinator's decision on a conflict; the result syncs back to the nodes.

    :param choice: ``central`` / ``node`` / ``other`` (a typed value) for a field;
        ``both`` / ``this`` / ``that`` for competing versions; ``not_double`` / ``double`` for a
        suspected double delivery (``double`` records a reversal); ``different`` / ``same``
        for a DNI on two families (both stay; what was found is recorded).
    :param user: who decides (the logged-in user), for the records a decision writes.
    :raises ValidationFailed: the conflict is closed, the choice or value does not fit.
    :raises ReversalRefused: ``double`` for a delivery that is a reversal or was reversed.
    """
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from fieldapp.audit.operations import record as audit
    from fieldapp.audit.operations import snapshot
    from fieldapp.nodes.models import SYNC_TABLES
    from fieldapp.nodes.queries import conflict as find_conflict

    conflict = find_conflict(conflict_id)
    if conflict is None or conflict.status != "open":
        raise ValidationFailed(_l("This conflict is already resolved."), field="choice")
    spec, record = _spec_and_record(conflict)
    before = snapshot(record)
    c = SYNC_TABLES.conflicts
    decide = {"field": _decide_field, "amendment": _decide_versions,
              "double_delivery": _decide_double,
              "duplicate_dni": _decide_duplicate_dni}.get(conflict.kind)
    if decide is None:
        raise ValidationFailed(_l("Choose one of the options."), field="choice")
    resolution = decide(conflict, spec, record, choice, value, username, user)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise ValidationFailed(_l("This value is not allowed for this field."),
                               field="value") from error
    audit("conflict:resolve", record, before=before,
          family_id=getattr(record, "family_id", None) or (
              record.id if conflict.table_name == "families" else None))
    db.session.execute(update(c).where(c.c.id == conflict.id).values(
        status="resolved", resolution=resolution, resolved_by=username,
        resolved_at=utcnow(), updated_at=utcnow()))
    if conflict.kind == "amendment":  # the mirror conflict of the same pair closes too
        db.session.execute(update(c).where(
            c.c.status == "open", c.c.kind == "amendment",
            c.c.row_id == conflict.other_row_id, c.c.other_row_id == conflict.row_id,
        ).values(status="resolved", resolution=resolution, resolved_by=username,
                 resolved_at=utcnow(), updated_at=utcnow()))


def _decide_field(conflict: Any, spec: Any, record: Any, choice: str, value: str | None,
                  username: str, user: Any = None) -> str:
    codec = spec.codec
    if choice == "central":
        chosen = codec.decode_value(conflict.field, conflict.central_value)
    elif choice == "node":
        chosen = codec.decode_value(conflict.field, conflict.node_value)
    elif choice == "other":
        chosen = parse_typed(spec.table.c[conflict.field], value)
    else:
        raise ValidationFailed(_l("Choose one of the options."), field="choice")
    if conflict.table_name == "agreements":  # the same rules as a node's push, from now
        _check_agreement_change(spec, record, {conflict.field: chosen})
    setattr(record, conflict.field, chosen)
    return f"{choice}: {codec.encode_value(conflict.field, chosen)}"


def _check_agreement_change(spec: Any, record: Any, changes: dict[str, Any]) -> None:
    """Refuse a decision that would break an agreement's rules as the agreement is now (its
    status may have moved since the conflict opened; a signed version never changes)."""
    from fieldapp.agreements.rules import change_refusal
    from fieldapp.nodes.messages import plain_refusal
    from fieldapp.nodes.rules import AgreementRules

    current = {c.key: getattr(record, c.key) for c in spec.table.c}
    refusal = change_refusal(current, {k: v for k, v in changes.items() if current[k] != v},
                             lambda: AgreementRules.successor_live(db.session, record.id))
    if refusal is not None:
        raise ValidationFailed(_l("This value breaks the agreement's rules: %(why)s",
                                  why=plain_refusal(*refusal)), field="choice")


def _decide_versions(conflict: Any, spec: Any, record: Any, choice: str, value: str | None,
                     username: str, user: Any = None) -> str:
    other = db.session.get(spec.model, conflict.other_row_id)
    if choice == "both":
        kept, aside = [record, other], []
    elif choice in ("this", "that"):
        kept = [record] if choice == "this" else [other]
        aside = [other] if choice == "this" else [record]
    else:
        raise ValidationFailed(_l("Choose one of the options."), field="choice")
    for item in kept:
        if item is not None:
            item.conflict_flag = None
    for item in aside:
        if item is not None:
            item.conflict_flag = SET_ASIDE
    return choice


def _decide_double(conflict: Any, spec: Any, record: Any, choice: str, value: str | None,
                   username: str, user: Any = None) -> str:
    if choice == "not_double":
        record.suspected_duplicate_of_id = None
    elif choice == "double":
        # The one way to reverse a delivery, with its checks (a reversal is not reversed, a
        # delivery is reversed once, the date, the audit entry, the user's communities).
        from fieldapp.deliveries.operations import reverse_delivery

        reverse_delivery(record, _l("Recorded twice (found when syncing)"),
                         user or _Named(username))
    else:
        raise ValidationFailed(_l("Choose one of the options."), field="choice")
    return choice


def _decide_duplicate_dni(conflict: Any, spec: Any, record: Any, choice: str,
                          value: str | None, username: str, user: Any = None) -> str:
    """Both families stay (a record is never lost): the coordinator records what they found;
    a DNI typed wrong is corrected on the family's page, a family registered twice is voided
    there."""
    if choice not in ("different", "same"):
        raise ValidationFailed(_l("Choose one of the options."), field="choice")
    return choice


class _Named:
    """Who resolved a conflict when only a name is known (no user record at hand)."""

    def __init__(self, name: str) -> None:
        self.id = None
        self.full_name = name
