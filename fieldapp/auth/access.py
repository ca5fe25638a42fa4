"""Who may see what: every route needs a login unless marked public; roles rank upwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context, request, session
from flask_login import current_user

from fieldapp.errors import Forbidden, OutOfScope

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as reachable without logging in (login page, verification, PWA shell)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def role_required(role: str) -> Callable[[F], F]:
    """Allow the view only to users whose role is ``role`` or above."""

    def decorator(view: F) -> F:
        view.required_role = role  # type: ignore[attr-defined]

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.has_role(role):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def central_only(view: F) -> F:
    """Allow the view only when this installation is central."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_app.config["ROLE"] != "central":
            from werkzeug.exceptions import NotFound

            raise NotFound()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def install_login_gate(app: Flask) -> None:
    """Refuse anonymous requests to any endpoint not marked :func:`public`."""

    @app.before_request
    def require_login() -> Any:
        if request.endpoint is None or request.endpoint == "static":
            return None
        view = app.view_functions.get(request.endpoint)
        if view is None or getattr(view, "is_public", False):
            return None
        if not current_user.is_authenticated:
            return app.login_manager.unauthorized()  # type: ignore[attr-defined]
        slide_session()
        return None


def slide_session() -> None:
    """On the first page a logged-in user opens each day (a navigation, never a background
    request), mark the session changed so that its cookie goes out again with a new expiry
    (``SESSION_REFRESH_EACH_REQUEST`` is off, see the configuration)."""
    if not session.permanent or request.headers.get("Sec-Fetch-Mode") != "navigate":
        return
    today = date.today().isoformat()
    if session.get("seen_on") != today:
        session["seen_on"] = today


def scoped_community_ids() -> list[Any] | None:
    """The communities the current field worker is limited to, or ``None`` for no limit.

    Coordinators and admins see every community; field staff with assigned communities see
    only theirs (a worker with none assigned sees the whole node).
    """
    if (not has_request_context() or not current_user
            or not current_user.is_authenticated or current_user.has_role("coordinator")):
        return None  # a CLI command or a test outside a request: the operator's whole node
    ids = [c.id for c in current_user.communities]
    return ids or None


def in_scope(community_id: Any) -> bool:
    """Whether a record of ``community_id`` is within the current user's communities."""
    ids = scoped_community_ids()
    return ids is None or community_id in ids


def check_community_scope(community_id: Any) -> None:
    """Refuse access to a record of a community outside the current user's scope."""
    if not in_scope(community_id):
        raise Forbidden()


def check_write_scope(community_id: Any, field: str | None = None) -> None:
    """Refuse a write to a record of a community outside the current user's scope.

    Called by every operation that writes for a family, agreement, session or delivery (not
    only by views, and not only by hiding choices in forms): a request built by hand with
    another community's family id is refused, and nothing is written.

    :param field: the form field that carried the record, for the error shown next to it.
    :raises OutOfScope: (403, ``out_of_scope``).
    """
    if not in_scope(community_id):
        raise OutOfScope(**({"field": field} if field else {}))
