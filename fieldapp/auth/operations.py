"""Authentication operations: checking credentials with throttling, managing users."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, literal, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from fieldapp.auth.models import ROLES, LoginFailure, User
from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.models import UTCDateTime, utcnow
from fieldapp.ratelimit import dialect_insert


class LoginLocked(Exception):
    """Too many failed logins for this user name; try again after ``until``."""

    def __init__(self, until: object) -> None:
        super().__init__(str(until))
        self.until = until


def login_key(username: str) -> str:
    """The user name as stored and as throttled (trimmed, lower case, at most 64)."""
    return username.strip().lower()[:64]


def claim_login_attempt(username: str, ip: str | None = None) -> None:
    """Count this attempt against the user name BEFORE its password is checked.

    One atomic upsert (SQLite and PostgreSQL) increments the name's counter in its window and
    returns it, so however many attempts run at once, at most ``LOGIN_MAX_FAILURES`` of them are
    ever checked per window: the one that reaches the limit locks the name, those after it are
    refused unchecked. A right password then clears the counter (:func:`check_credentials`).
    The caller commits before checking the password, so that other processes see the count and
    the slow hash is not computed inside a write transaction.

    :raises LoginLocked: the name has used its attempts (even a right password waits).
    """
    cfg = current_app.config
    key = login_key(username)
    limit = int(cfg["LOGIN_MAX_FAILURES"])
    now = utcnow()
    lock = now + cfg["LOGIN_LOCKOUT"]
    t = LoginFailure.__table__
    at = UTCDateTime()
    now_ = literal(now, at)
    locked = t.c.locked_until > now_  # NULL (never locked) is not true in a CASE
    restart = or_(t.c.first_at <= literal(now - cfg["LOGIN_FAILURE_WINDOW"], at),
                  t.c.locked_until <= now_)
    first_lock = lock if limit <= 1 else None
    insert = dialect_insert()
    stmt = (
        insert(t)
        .values(username=key, count=1, first_at=now, locked_until=first_lock, last_ip=ip)
        .on_conflict_do_update(
            index_elements=["username"],
            set_={
                # A refused attempt counts too (the count passes the limit), so it is told
                # apart from the attempt that reached the limit and may still be checked.
                "count": case((locked, t.c.count + 1), (restart, 1), else_=t.c.count + 1),
                "first_at": case((locked, t.c.first_at), (restart, now_), else_=t.c.first_at),
                "locked_until": case(
                    (locked, t.c.locked_until),
                    (restart, literal(first_lock, at)),
                    (t.c.count + 1 >= limit, literal(lock, at)),
                    else_=literal(None, at),
                ),
                "last_ip": ip,
            },
        )
        .returning(t.c.count, t.c.locked_until)
    )
    count, locked_until = db.session.execute(stmt).one()
    if count > limit:
        raise LoginLocked(locked_until or lock)  # none only if the limit was lowered meanwhile


def check_credentials(username: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``; call after
    :func:`claim_login_attempt`. A right password clears the name's failures.

    An unknown name is checked against a dummy hash of the same scheme and cost, and an inactive
    user against their own hash, so the answer takes as long whether the name exists or not.
    """
    key = login_key(username)
    user = db.session.execute(select(User).where(User.username == key)).scalar_one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == key))
    user.last_login_at = utcnow()
    return user


@cache
def _dummy_hash() -> str:
    """A hash made like every user's (``User.set_password``) of a password nobody knows."""
    return generate_password_hash(secrets.token_urlsafe(16))


#: Why a node refuses to change one of central's accounts.
MANAGED_ON_CENTRAL = _l("Accounts are managed on central: create or change this account there.")


def check_managed_here(user: User) -> None:
    """Refuse to change ``user`` here when it is a field node's copy of central's account
    (changed only by central, through sync; see ``fieldapp.nodes.accounts``).

    :raises ValidationFailed: ``user`` is central's.
    """
    if user.from_central:
        raise ValidationFailed(MANAGED_ON_CENTRAL, field="username", reason="managed_on_central")


def end_sessions(user: User) -> None:
    """End every session of ``user`` on every device (logout: a copied cookie dies too)."""
    user.end_sessions()
    db.session.flush()


def reset_password(username: str, password: str) -> User:
    """Set a user's password (an admin's reset); every session of the user ends.

    :raises ValidationFailed: unknown user name or short password.
    """
    user = db.session.execute(
        select(User).where(User.username == login_key(username))).scalar_one_or_none()
    if user is None:
        raise ValidationFailed(f"no user {username!r}", field="username")
    check_managed_here(user)
    if len(password) < 8:
        raise ValidationFailed("password shorter than 8 characters", field="password")
    user.set_password(password)
    db.session.flush()
    return user


def change_own_password(user: User, current: str, new: str) -> None:
    """A user replaces their password; every other session of theirs ends.

    :raises ValidationFailed: the current password is not right, or the new one is short.
    """
    check_managed_here(user)
    if not user.check_password(current):
        raise ValidationFailed("current password is not right", field="current")
    if len(new) < 8:
        raise ValidationFailed("password shorter than 8 characters", field="password")
    user.set_password(new)
    db.session.flush()


def create_user(
    username: str,
    full_name: str,
    password: str,
    role: str = "field_staff",
    community_codes: Iterable[str] = (),
    locale: str | None = None,
) -> User:
    """Add a user with a hashed password and the communities they work in.

    :raises ValidationFailed: unknown role or community, short password, or taken user name.
    """
    username = username.strip().lower()
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}", field="role")
    if len(password) < 8:
        raise ValidationFailed("password shorter than 8 characters", field="password")
    taken = db.session.execute(select(User.id).where(User.username == username)).first()
    if taken:
        raise ValidationFailed(f"user name {username!r} is taken", field="username")
    user = User(username=username, full_name=full_name.strip(), role=role, locale=locale)
    user.set_password(password)
    user.communities = _communities_by_code(community_codes)
    db.session.add(user)
    db.session.flush()
    return user


def _communities_by_code(codes: Iterable[str]) -> list[Community]:
    codes = [c for c in codes if c]
    if not codes:
        return []
    found = db.session.execute(select(Community).where(Community.code.in_(codes))).scalars().all()
    missing = set(codes) - {c.code for c in found}
    if missing:
        raise ValidationFailed(f"unknown communities: {', '.join(sorted(missing))}",
                               field="communities")
    return list(found)


def update_user(
    user: User,
    full_name: str,
    role: str,
    community_ids: Iterable[str],
    active: bool,
    password: str | None = None,
) -> User:
    """Change a user's name, role, communities, state and (optionally) password.

    Deactivating a user or setting their password ends every session of theirs.
    """
    check_managed_here(user)
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}", field="role")
    if user.active and not active:
        user.end_sessions()
    user.full_name = full_name.strip()
    user.role = role
    user.active = active
    ids = [uuid.UUID(i) for i in community_ids]
    user.communities = (
        list(db.session.execute(select(Community).where(Community.id.in_(ids))).scalars())
        if ids
        else []
    )
    if password:
        user.set_password(password)
    db.session.flush()
    return user
