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

from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.instance import CODE_ALPHABET
from fieldapp.models import utcnow
from fieldapp.nodes.directory import enrolment_expiry
from fieldapp.nodes.models import Node

NODE_CODE_RE = re.compile(r"^[A-Z0-9]{2,8}$")


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
                  all_communities: bool = False) -> tuple[Node, str]:
    """Register a field node and make its one-time enrolment code.

    :param code: the node's short code (2 to 8 capital letters or digits), part of its records'
        codes (``AM-<code>-0042``).
    :param communities: ids or codes of the communities the node serves.
    :returns: the node and its enrolment code (shown once; only its hash is stored).
    :raises ValidationFailed: a name or code is missing or taken, a community is unknown.
    """
    name = " ".join((name or "").split())
    code = (code or "").strip().upper()
    if not name:
        raise ValidationFailed(_l("This field is required."), field="name")
    if not NODE_CODE_RE.match(code):
        raise ValidationFailed(_l("2 to 8 capital letters or digits."), field="code")
    if db.session.execute(select(Node.id).where(Node.code == code)).first():
        raise ValidationFailed(_l("Another node already has this code."), field="code")
    chosen = _communities(communities)
    if not chosen and not all_communities:
        raise ValidationFailed(_l("Choose the communities this node serves."),
                               field="communities")
    node = Node(name=name, code=code, all_communities=all_communities, communities=chosen)
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
