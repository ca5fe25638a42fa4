"""Who may see a grievance.

An ordinary grievance: whoever works in its community (coordinators in every one). A
confidential one (about staff): coordinators only, and never the staff member it names, even a
coordinator of its community. A grievance a user may not see is "not found" (404): its
existence is not told either.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import and_, false, func, or_, select

from fieldapp.auth.access import scoped_community_ids
from fieldapp.errors import NotFound
from fieldapp.families.models import Family
from fieldapp.grievances.models import Grievance


def _user() -> Any:
    return current_user if current_user and current_user.is_authenticated else None


def _plain(text: Any) -> str:
    return " ".join(str(text or "").split()).lower()


def named_in(grievance: Grievance, user: Any) -> bool:
    """Whether ``user`` is the staff member a grievance names: by user name when one was
    chosen, else by the name written (compared without case or extra spaces: users are local
    to each installation, their names are what travels)."""
    username, name = _plain(grievance.staff_username), _plain(grievance.staff_name)
    if username:
        return username == _plain(getattr(user, "username", ""))
    return bool(name) and name == _plain(getattr(user, "full_name", ""))


def may_see(grievance: Grievance, user: Any = None) -> bool:
    """Whether ``user`` (default: the current user) may open ``grievance``."""
    user = user if user is not None else _user()
    if user is None or grievance.voided:
        return False
    if grievance.confidential:
        return user.has_role("coordinator") and not named_in(grievance, user)
    scope = [c.id for c in user.communities] if not user.has_role("coordinator") else []
    return not scope or place_of(grievance) in scope


def place_of(grievance: Grievance) -> Any:
    """The community a grievance belongs to: its family's (which may have moved since), or the
    one an anonymous grievance names (as its sync scope path reads it)."""
    return grievance.family.community_id if grievance.family is not None else \
        grievance.community_id


def recorded_by_user(grievance: Grievance, user: Any = None) -> bool:
    """Whether ``user`` (default: the current user) recorded ``grievance`` and is not named in
    it: they may print its slip and see its code, even when it is confidential."""
    user = user if user is not None else _user()
    return (user is not None and not grievance.voided and bool(grievance.recorded_by)
            and grievance.recorded_by == user.username and not named_in(grievance, user))


def check_may_print(grievance: Grievance | None) -> Grievance:
    """``grievance`` if the current user may print its slip (who may see it, or who recorded
    it: the family's receipt names nothing of a complaint).

    :raises NotFound: otherwise (404, ``not_found``).
    """
    if grievance is None or not (may_see(grievance) or recorded_by_user(grievance)):
        raise NotFound()
    return grievance


def check_may_see(grievance: Grievance | None) -> Grievance:
    """``grievance`` if the current user may open it.

    :raises NotFound: none, voided, or one the user may not see (404, ``not_found``).
    """
    if grievance is None or not may_see(grievance):
        raise NotFound()
    return grievance


def visible_condition() -> Any:
    """The SQL condition of the grievances the current user may see (lists, the family page,
    the figures)."""
    user = _user()
    if user is None:
        return false()
    scope = scoped_community_ids()
    ordinary = Grievance.confidential.is_(False)
    if scope is not None:
        ordinary = and_(ordinary, or_(
            and_(Grievance.family_id.is_(None), Grievance.community_id.in_(scope)),
            Grievance.family_id.in_(select(Family.id).where(Family.community_id.in_(scope)))))
    if not user.has_role("coordinator"):
        return and_(Grievance.voided.is_(False), ordinary)
    by_username = and_(Grievance.staff_username.is_not(None),
                       _not_named(Grievance.staff_username, user.username))
    by_name = and_(Grievance.staff_username.is_(None),
                   _not_named(Grievance.staff_name, user.full_name))
    confidential = and_(Grievance.confidential.is_(True), or_(by_username, by_name))
    return and_(Grievance.voided.is_(False), or_(ordinary, confidential))


def _not_named(column: Any, own: Any) -> Any:
    """SQL: ``column`` is empty or is not ``own`` (without case; spaces at the ends ignored,
    :func:`named_in` also folds inner runs, which names typed by hand rarely have)."""
    return or_(column.is_(None), func.lower(func.trim(column)) != _plain(own))
