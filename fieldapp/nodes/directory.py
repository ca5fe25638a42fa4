"""Central's directory of nodes, as the sync engine sees it: credentials, scope, contact."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash

from fieldapp.models import utcnow
from fieldapp.nodes.models import Node, node_communities
from sync.errors import BadCredential, EnrolmentRefused, NodeRevoked, UnknownNode
from sync.state import NodeInfo
from sync.storage.codec import storable

#: The largest count a node's report may give (an integer column).
MAX_COUNT = 2**31 - 1


def hash_secret(secret: str) -> str:
    """A node credential's stored form.

    The secret is 256 random bits, so a plain SHA-256 is as strong as a slow password hash
    and keeps every sync request cheap.
    """
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def check_secret(stored: str, secret: str) -> bool:
    """Whether ``secret`` matches the stored hash (constant time)."""
    return hmac.compare_digest(stored, hash_secret(secret))


def node_info(node: Node) -> NodeInfo:
    """The engine's view of a node: identity and the communities it serves."""
    scope = None if node.all_communities else frozenset(c.id for c in node.communities)
    return NodeInfo(id=node.id, code=node.code, name=node.name, scope=scope)


class Directory:
    """Implements :class:`sync.state.NodeDirectory` on the ``nodes`` table."""

    def authenticate(self, session: Session, node_id: uuid.UUID, secret: str) -> NodeInfo:
        # Plain rows, not ORM objects: every sync request (each push page) comes through here,
        # and loading a Node with its communities cost some 3 ms of central's CPU a request.
        node = session.execute(
            select(Node.code, Node.name, Node.all_communities, Node.revoked_at,
                   Node.credential_hash).where(Node.id == node_id)
        ).first()
        if node is None:
            raise UnknownNode()
        if node.revoked_at is not None:
            raise NodeRevoked()
        if not node.credential_hash or not check_secret(node.credential_hash, secret):
            raise BadCredential()
        scope = None
        if not node.all_communities:
            scope = frozenset(session.execute(
                select(node_communities.c.community_id)
                .where(node_communities.c.node_id == node_id)).scalars())
        return NodeInfo(id=node_id, code=node.code, name=node.name, scope=scope)

    def enrol(self, session: Session, code: str, facts: dict[str, Any]) -> tuple[NodeInfo, str]:
        node_code, _, _rest = code.strip().upper().partition("-")
        node = session.execute(
            select(Node).options(selectinload(Node.communities)).where(Node.code == node_code)
        ).scalar_one_or_none()
        now = utcnow()
        if (
            node is None
            or not node.enrol_code_hash
            or node.enrol_expires_at is None
            or node.enrol_expires_at < now
            or not check_password_hash(node.enrol_code_hash, code.strip().upper())
        ):
            raise EnrolmentRefused()
        secret = secrets.token_urlsafe(32)
        node.credential_hash = hash_secret(secret)
        node.enrol_code_hash = None
        node.enrol_expires_at = None
        node.enrolled_at = now
        node.revoked_at = None
        node.last_error = node.last_error_code = None
        node.app_version = storable(facts.get("app") or "", 20) or None
        node.schema_version = storable(facts.get("schema") or "", 40) or None
        session.flush()
        return node_info(node), secret

    def record_contact(self, session: Session, node_id: uuid.UUID, facts: dict[str, Any]) -> None:
        node = session.get(Node, node_id)
        if node is None:
            return
        node.last_contact_at = utcnow()
        # What a node reports is kept as text every database stores and counts an integer
        # column holds; anything else is not a count.
        for key, attr, size in (("app", "app_version", 20), ("schema", "schema_version", 40)):
            if facts.get(key):
                setattr(node, attr, storable(facts[key], size))
        for key, attr in (("pending", "pending_reported"),
                          ("quarantined", "quarantined_reported")):
            value = facts.get(key)
            if type(value) is int and 0 <= value <= MAX_COUNT:
                setattr(node, attr, value)
        if "clock_skew_s" in facts:
            node.clock_skew_s = facts["clock_skew_s"]
        if facts.get("error_code"):
            node.last_error_code = storable(facts["error_code"], 40)
            node.last_error = storable(facts.get("error") or "", 500)
        elif facts.get("success"):
            node.last_success_at = node.last_contact_at
            node.last_error = node.last_error_code = None


def enrolment_expiry(seconds: float) -> Any:
    """When an enrolment code made now stops working."""
    return utcnow() + timedelta(seconds=seconds)
