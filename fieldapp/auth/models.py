"""Users, their roles and communities, and login throttling."""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from fieldapp.checks import one_of
from fieldapp.models import Base, TimestampMixin, new_id

ROLES = ("field_staff", "coordinator", "admin")
#: Each role includes the powers of the roles before it.
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}



def new_session_token() -> str:
    """A random per-user token that every session and remember cookie of the user carries."""
    return secrets.token_hex(16)


user_communities = Table(
    "user_communities",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, TimestampMixin, Base):
    """A person who logs in: field staff (promotor), coordinator or admin."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="field_staff")
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    #: Part of :meth:`get_id`, so of every session and remember cookie: replacing it (logout,
    #: password change, deactivation) ends every session of the user on every device.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    #: On a field node: central's account, received through sync (password hash included) and
    #: changed only by central. False on central, and for a node's own local accounts.
    from_central: Mapped[bool] = mapped_column(default=False, server_default="0")

    communities: Mapped[list[Community]] = relationship(  # noqa: F821
        secondary=user_communities, order_by="Community.name"
    )

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password`` (scrypt) and end every session of the user:
        whoever knew the old password may hold a session (an admin reset, the CLI, the user's
        own change all come through here)."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Invalidate every session and remember cookie of this user, on every device."""
        self.session_token = new_session_token()

    def get_id(self) -> str:
        """``<id>:<session token>``: what Flask-Login keeps in the session and the remember
        cookie, so that a cookie copied before :meth:`end_sessions` no longer loads the user."""
        return f"{self.id}:{self.session_token}"

    def holds_session(self, token: str) -> bool:
        """Whether a session carrying ``token`` is still one of this user's (compared in
        constant time)."""
        return self.active and hmac.compare_digest(self.session_token.encode(), token.encode())

    def check_password(self, password: str) -> bool:
        """Whether ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def has_role(self, role: str) -> bool:
        """Whether this user's role is ``role`` or above it."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginFailure(Base):
    """Failed logins per username (known or not), for throttling guessers."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_ip: Mapped[str | None] = mapped_column(Text)
