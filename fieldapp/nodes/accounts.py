"""Accounts managed once, on central, and carried to the field nodes by sync.

Central keeps the users, their roles and their communities. After each sync that got through, a
node asks central (the ``accounts`` exchange, :class:`sync.state.Exchange`) for the accounts of
its scope — password hashes included, so that a promotor logs in on the node while it is offline
— and applies them in one transaction:

* an account new to the node is added (marked ``from_central``); a local account of the same
  user name is retired (renamed, deactivated, its hash wiped): central's account replaces it;
* a changed password, a lower role, fewer communities or a deactivation ends that user's
  sessions on the node (the node's own session token changes, see ``User.end_sessions``);
* an account that left the node's scope (deactivated, moved to other communities, made an
  administrator) is deactivated on the node and its password hash wiped.

Which accounts reach a node: active field staff who work in a community of the node's scope,
and coordinators (they supervise every community). Administrators stay on central: a field
device never holds their password hash.

A node that has never received central's accounts may create a **local (emergency) account**
(the ``users`` command, the admin screen): it is audited, and the node reports its local
accounts — never their hashes — to central at every sync (``nodes.local_accounts``, shown on
the node's page on central). Once the node has central's accounts, accounts are no longer
created or changed on it: that happens on central.

Central answers with a digest of the accounts; a node that already holds them gets
``unchanged`` and nothing else, so the exchange costs one small request per sync.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from fieldapp.audit.operations import record
from fieldapp.auth.models import ROLES, User, user_communities
from fieldapp.auth.operations import MANAGED_ON_CENTRAL, create_user
from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.models import utcnow
from fieldapp.nodes.models import Node
from sync import errors
from sync.state import AppState, Exchange, NodeInfo

NAME = "accounts"
#: The note where a node keeps the digest of the accounts it last applied.
DIGEST_NOTE = "accounts_digest"
#: ... and the digest of the local accounts it last reported.
REPORTED_NOTE = "accounts_reported"
#: How many local accounts a node reports (the exchange's body is small).
MAX_REPORTED = 40
#: The password hash of an account a node no longer holds: no password matches it.
WIPED = "!"


# -- central -----------------------------------------------------------------------------------
def accounts_for(session: Session, node: NodeInfo) -> list[dict[str, Any]]:
    """The accounts that reach ``node``: active coordinators, and active field staff with a
    community in its scope (each with only those communities), by user name."""
    query = (select(User).options(selectinload(User.communities))
             .where(User.active.is_(True), User.role != "admin").order_by(User.username))
    if node.scope is not None:
        in_scope = exists().where(user_communities.c.user_id == User.id,
                                  user_communities.c.community_id.in_(node.scope))
        query = query.where(or_(User.role == "coordinator", in_scope))
    accounts = []
    for user in session.execute(query).scalars():
        communities = sorted(str(c.id) for c in user.communities
                             if node.scope is None or c.id in node.scope)
        accounts.append({
            "id": str(user.id), "username": user.username, "full_name": user.full_name,
            "role": user.role, "locale": user.locale, "password_hash": user.password_hash,
            "communities": communities,
        })
    return accounts


def digest_of(accounts: list[dict[str, Any]]) -> str:
    """A digest of what central sends (canonical JSON), to answer ``unchanged``."""
    text = json.dumps(accounts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def read_report(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's report of its local accounts, checked: a list of at most
    :data:`MAX_REPORTED` entries, each with a user name, a name, a role and whether it is active.

    :raises sync.errors.BadBody: anything else.
    """
    report = body.get("local", [])
    if not isinstance(report, list) or len(report) > MAX_REPORTED:
        raise errors.BadBody(f"local: a list of at most {MAX_REPORTED} accounts")
    clean = []
    for entry in report:
        if (not isinstance(entry, dict) or not _text(entry.get("username"), 80)
                or not _text(entry.get("full_name"), 120) or entry.get("role") not in ROLES
                or not isinstance(entry.get("active"), bool)
                or not (entry.get("created_at") is None or _text(entry.get("created_at"), 40))):
            raise errors.BadBody("local: each account needs username, full_name, role, active")
        clean.append({k: entry.get(k) for k in ("username", "full_name", "role", "active",
                                                "created_at")})
    return clean


def answer(session: Session, node: NodeInfo, body: dict[str, Any]) -> dict[str, Any]:
    """Central's side: keep the node's report of its local accounts, answer with the accounts
    of its scope (or ``unchanged`` when the node already holds them)."""
    report = read_report(body)
    row = session.get(Node, node.id)
    if row is not None and (row.local_accounts or []) != report:
        row.local_accounts = report
        row.accounts_reported_at = utcnow()
    accounts = accounts_for(session, node)
    digest = digest_of(accounts)
    if body.get("digest") == digest:
        return {"digest": digest, "unchanged": True}
    return {"digest": digest, "accounts": accounts}


def stamp(session: Session, node: NodeInfo) -> str:
    """Central's side, in every handshake: the digest of the node's accounts."""
    return digest_of(accounts_for(session, node))


# -- node ----------------------------------------------------------------------------------------
def local_report(session: Session) -> list[dict[str, Any]]:
    """This node's own local accounts, as reported to central (no password hash)."""
    users = session.execute(
        select(User).where(User.from_central.is_(False)).order_by(User.created_at)
        .limit(MAX_REPORTED)).scalars()
    return [{"username": u.username, "full_name": u.full_name[:120] or u.username,
             "role": u.role, "active": bool(u.active),
             "created_at": u.created_at.isoformat() if u.created_at else None} for u in users]


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError(value)
    return uuid.UUID(value)


def read_accounts(answer: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Central's answer checked: its digest and its accounts.

    :raises sync.errors.BadResponse: an answer of another shape (nothing is applied).
    """
    digest = answer.get("digest")
    accounts = answer.get("accounts")
    if not _text(digest, 64) or not isinstance(accounts, list):
        raise errors.BadResponse("The accounts answer has no digest or no accounts.")
    clean = []
    seen: set[str] = set()
    try:
        for entry in accounts:
            if (not isinstance(entry, dict) or not _text(entry.get("username"), 64)
                    or not _text(entry.get("full_name"), 120)
                    or entry.get("role") not in ROLES or entry.get("role") == "admin"
                    or not _text(entry.get("password_hash"), 255)
                    or not (entry.get("locale") is None or _text(entry.get("locale"), 5))
                    or not isinstance(entry.get("communities"), list)
                    or entry["username"] in seen):
                raise ValueError(entry)
            seen.add(entry["username"])
            clean.append({**entry, "id": _uuid(entry.get("id")),
                          "communities": [_uuid(c) for c in entry["communities"]]})
    except ValueError as error:
        raise errors.BadResponse("An account in central's answer is malformed.") from error
    return digest, clean


def _retire(user: User, reason: str) -> None:
    """Take an account out of use on this node: deactivated, sessions ended, hash wiped."""
    before = {"username": user.username, "account": "active" if user.active else "inactive"}
    user.active = False
    user.password_hash = WIPED
    user.communities = []
    user.end_sessions()
    record(f"account:{reason}", user, before=before,
           after={"username": user.username, "account": "retired"})


def apply_accounts(session: Session, accounts: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Make this node's copy of central's accounts what central sent (see the module's text).
    Returns counts: added, changed, sessions ended, retired."""
    counts = {"added": 0, "changed": 0, "sessions_ended": 0, "retired": 0}
    incoming = {entry["id"]: entry for entry in accounts}
    wanted = {c for entry in incoming.values() for c in entry["communities"]}
    communities = {c.id: c for c in session.execute(
        select(Community).where(Community.id.in_(wanted))).scalars()} if wanted else {}
    held = {u.id: u for u in session.execute(
        select(User).options(selectinload(User.communities))
        .where(User.from_central.is_(True))).scalars()}
    for user_id, user in held.items():
        if user_id not in incoming and (user.active or user.password_hash != WIPED):
            _retire(user, "left_scope")
            counts["retired"] += 1
    for user_id, entry in incoming.items():
        user = held.get(user_id) or session.get(User, user_id)
        given = [communities[c] for c in entry["communities"] if c in communities]
        if user is None:
            clash = session.execute(select(User).where(User.username == entry["username"])
                                    ).scalar_one_or_none()
            if clash is not None:  # a local account (or an old copy) of the same name
                _retire(clash, "replaced_by_central")
                clash.username = f"{entry['username'][:54]}~{clash.id.hex[:8]}"
                counts["retired"] += 1
                session.flush()
            user = User(id=user_id, username=entry["username"], full_name=entry["full_name"],
                        role=entry["role"], password_hash=entry["password_hash"],
                        locale=entry["locale"], from_central=True, active=True)
            user.communities = given
            session.add(user)
            counts["added"] += 1
            continue
        ends = (user.password_hash != entry["password_hash"] or not user.active
                or user.role != entry["role"]
                or not {c.id for c in user.communities} <= {c.id for c in given})
        changed = ends or (user.full_name != entry["full_name"]
                           or user.username != entry["username"]
                           or {c.id for c in user.communities} != {c.id for c in given})
        if not changed:
            continue
        user.from_central = True
        user.username = entry["username"]
        user.full_name = entry["full_name"]
        user.role = entry["role"]
        user.password_hash = entry["password_hash"]
        user.active = True
        user.communities = given
        if entry["locale"]:
            user.locale = entry["locale"]
        counts["changed"] += 1
        if ends:
            user.end_sessions()
            counts["sessions_ended"] += 1
    session.flush()
    return counts


def due(state: AppState, central_stamp: str | None) -> bool:
    """The node's side: run the exchange when central's accounts differ from those held here,
    or this node's local accounts changed since it last reported them."""
    from sync.node import local

    notes = local.get_notes(state, DIGEST_NOTE, REPORTED_NOTE)
    report = digest_of(local_report(state.session))
    state.session.rollback()
    nothing = digest_of([])  # a node that never ran the exchange holds no account, reported none
    return (central_stamp is None or central_stamp != (notes[DIGEST_NOTE][0] or nothing)
            or report != (notes[REPORTED_NOTE][0] or nothing))


def run(state: AppState, send: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The node's side, after a sync: report the local accounts, apply central's answer."""
    from sync.node import local

    session = state.session
    digest = local.get_note(state, DIGEST_NOTE)[0]
    report = local_report(session)
    session.rollback()
    reply = send({"digest": digest, "local": report})
    try:
        if not (reply.get("unchanged") is True and reply.get("digest") == digest):
            new_digest, accounts = read_accounts(reply)
            apply_accounts(session, accounts)
            local.set_note(state, DIGEST_NOTE, new_digest)
        local.set_note(state, REPORTED_NOTE, digest_of(report))
        session.commit()
    except BaseException:
        session.rollback()
        raise


def revoked(state: AppState) -> None:
    """The node's side when central revoked it: central's accounts leave the node (deactivated,
    hashes wiped, sessions ended) — a revoked device, perhaps a lost one, keeps no password
    hash of the program's staff. Enrolled again, the node receives them at its next sync."""
    from sync.node import local

    session = state.session
    try:
        for user in session.execute(select(User).where(
                User.from_central.is_(True), User.password_hash != WIPED)).scalars():
            _retire(user, "node_revoked")
        local.set_note(state, DIGEST_NOTE, None)
        session.commit()
    except BaseException:
        session.rollback()
        raise


def exchange() -> Exchange:
    """The ``accounts`` exchange as the sync engine runs it."""
    return Exchange(NAME, answer=answer, run=run, stamp=stamp, due=due, revoked=revoked)


# -- what may be done where -----------------------------------------------------------------------
def takes_accounts_from_central() -> bool:
    """Whether this installation is a field node that has received central's accounts: users
    are then managed on central, never here."""
    if current_app.config["ROLE"] != "field":
        return False
    from sync.node import local

    return local.get_note(current_app.extensions["sync"], DIGEST_NOTE)[0] is not None


def check_new_account_allowed() -> None:
    """Refuse a new account on a field node that has central's accounts.

    :raises ValidationFailed: accounts are central's here.
    """
    if takes_accounts_from_central():
        raise ValidationFailed(MANAGED_ON_CENTRAL, field="username", reason="managed_on_central")


def create_here(username: str, full_name: str, password: str, role: str = "field_staff",
                community_codes: Iterable[str] = (), locale: str | None = None) -> User:
    """Create an account on this installation: on central any account; on a field node only a
    local (emergency) account, before the node has central's accounts — audited, and reported
    to central at the next sync.

    :raises ValidationFailed: see :func:`check_new_account_allowed` and ``create_user``.
    """
    check_new_account_allowed()
    user = create_user(username, full_name, password, role, community_codes, locale)
    if current_app.config["ROLE"] == "field":
        record("account:local", user, after={"username": user.username,
                                             "full_name": user.full_name, "role": user.role})
    return user

