"""One catalogue of application errors with stable codes, and their HTML/JSON handlers.

API and sync clients get ``{"error": {"code": ..., "message": ...}}``; people get a friendly
page. Never a stack trace.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    """Base of expected errors: each has a stable ``code``, an HTTP status and a message."""

    code = "app_error"
    status = 400
    message: Any = _l("The request could not be processed.")

    def __init__(self, message: Any = None, **details: Any) -> None:
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON body clients receive."""
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class ValidationFailed(AppError):
    """Input that breaks a rule of the domain (checked in operations, not only in forms)."""

    code = "invalid"
    status = 422
    message = _l("Some values are not valid.")


class ConfirmationNeeded(ValidationFailed):
    """Allowed only once the person confirms it (e.g. a delivery above the promise).

    ``details["confirm"]`` names the form's checkbox that confirms it, and the error is shown
    next to that checkbox: a person's page and the tablet's outbox (which reads the JSON
    answer) both show the checkbox, and the same form sent again with it ticked goes through.
    """

    code = "confirmation_needed"

    def __init__(self, message: Any = None, *, confirm: str, **details: Any) -> None:
        super().__init__(message, field=confirm, confirm=confirm, **details)


class BadParameter(AppError):
    """A query-string parameter that is not what the page reads (e.g. a page number too big)."""

    code = "bad_parameter"
    status = 400
    message = _l("A value in the address is not valid.")


class OutOfScope(AppError):
    """A write for a family, session or agreement of a community the user does not work in."""

    code = "out_of_scope"
    status = 403
    message = _l("This record belongs to a community you do not work in. Nothing was saved.")


class NotFound(AppError):
    code = "not_found"
    status = 404
    message = _l("We could not find what you asked for.")


class Forbidden(AppError):
    code = "forbidden"
    status = 403
    message = _l("Your role does not allow this.")


class IdempotencyMismatch(AppError):
    """The same idempotency key was sent before with a different payload."""

    code = "idempotency_key_reused"
    status = 409
    message = _l("This submission's key was already used for different data.")


class TransitionRefused(AppError):
    """A status change the agreement cycle does not allow."""

    code = "transition_refused"
    status = 409
    message = _l("This status change is not allowed.")


class DeliveryRefused(AppError):
    code = "delivery_refused"
    status = 409
    message = _l("This delivery cannot be recorded.")


class ApiRefused(AppError):
    """A request to the analysts' read API refused; ``code`` says why, stable for scripts:
    ``token_missing``, ``token_invalid``, ``token_expired``, ``token_revoked`` (401),
    ``dataset_not_granted`` (403), ``unknown_dataset`` (404), ``bad_page_size``,
    ``invalid_cursor``, ``cursor_other_dataset``, ``cursor_and_since`` (400),
    ``cursor_ahead`` (409), ``rate_limited`` (429)."""

    code = "api_refused"

    def __init__(self, code: str, status: int, message: Any, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code
        self.status = status


def wants_json() -> bool:
    """Whether the client is a program (sync, API, fetch) rather than a person's browser."""
    if request.path.startswith(("/sync/", "/api/")) or request.path in ("/metrics", "/healthz"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


def _respond(code: str, status: int, message: Any, details: dict | None = None) -> Response:
    from fieldapp.extensions import db

    db.session.rollback()
    if wants_json():
        body: dict[str, Any] = {"code": code, "message": str(message)}
        if details:
            body["details"] = details
        response = jsonify(error=body)
    else:
        response = current_app.make_response(
            render_template("errors/error.html", code=code, status=status, message=message)
        )
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: app errors, CSRF, HTTP errors and the last-resort 500."""

    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> Response:
        return _respond(error.code, error.status, error.message, error.details or None)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError) -> Response:
        return _respond(
            "csrf_failed",
            400,
            _l("This form expired or was sent from another page, so nothing was saved. Go back, reload the page and send it again."),  # noqa: E501
        )

    messages = {
        400: (_l("The request was not understood."), "bad_request"),
        403: (_l("Your role does not allow this."), "forbidden"),
        404: (_l("We could not find what you asked for."), "not_found"),
        405: (_l("That action is not available here."), "method_not_allowed"),
        413: (_l("What you sent is too large."), "too_large"),
        429: (_l("Too many attempts. Wait a few minutes and try again."), "rate_limited"),
    }

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        status = error.code or 500
        message, code = messages.get(status, (error.description, f"http_{status}"))
        return _respond(code, status, message)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(
            "server_error", 500, _l("Something went wrong on our side. Nothing was saved.")
        )
