"""Authentication operations: checking credentials with throttling, managing users."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select

from fieldapp.auth.models import ROLES, LoginFailure, User
from fieldapp.communities.models import Community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.models import utcnow


class LoginLocked(Exception):
    """Too many failed logins for this user name; try again after ``until``."""

    def __init__(self, until: object) -> None:
        super().__init__(str(until))
        self.until = until


def authenticate(username: str, password: str, ip: str | None = None) -> User | None:
    """The user for these credentials, or ``None``; failures count towards a lock-out.

    :raises LoginLocked: the user name has failed too often recently (even with a right password).
    """
    key = username.strip().lower()[:64]
    now = utcnow()
    failure = db.session.get(LoginFailure, key)
    if failure and failure.locked_until and failure.locked_until > now:
        raise LoginLocked(failure.locked_until)
    user = db.session.execute(select(User).where(User.username == key)).scalar_one_or_none()
    if user is not None and user.active and user.check_password(password):
        if failure:
            db.session.delete(failure)
        user.last_login_at = now
        return user
    _count_failure(key, ip)
    return None


def _count_failure(key: str, ip: str | None) -> None:
    cfg = current_app.config
    now = utcnow()
    failure = db.session.get(LoginFailure, key)
    if failure is None or now - failure.first_at > cfg["LOGIN_FAILURE_WINDOW"]:
        if failure is None:
            failure = LoginFailure(username=key, count=0, first_at=now)
            db.session.add(failure)
        failure.count, failure.first_at, failure.locked_until = 0, now, None
    failure.count += 1
    failure.last_ip = ip
    if failure.count >= cfg["LOGIN_MAX_FAILURES"]:
        failure.locked_until = now + cfg["LOGIN_LOCKOUT"]


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
    """Change a user's name, role, communities, state and (optionally) password."""
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}", field="role")
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
