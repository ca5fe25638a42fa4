"""How create forms answer: a redirect (people) or JSON (the PWA's outbox), and the local date.

Every create of the agreement cycle (agreement drafts and signatures, attendance, deliveries,
visits) is a plain HTML form POST carrying an idempotency key. A browser gets a redirect on
success and the form again (422) with the errors next to the fields; a client sending
``Accept: application/json`` gets ``{"id": ..., "url": ...}`` (201 when created now, 200 when the
key had already been used) or ``{"error": {"code", "message", "details": {"fields": {...}}}}``.
An error that a confirmation lifts (:class:`~fieldapp.errors.ConfirmationNeeded`) names the
confirming checkbox in ``details["confirm"]``; the same form sent again with it ticked, under
the same idempotency key, goes through (a refused request leaves nothing under its key).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, flash, jsonify, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from fieldapp.errors import AppError, ValidationFailed, wants_json
from fieldapp.extensions import db
from fieldapp.formatting import program_timezone

#: Shown above a form a client sent with errors (JSON clients get it as the error message).
INVALID_MESSAGE = _l("Please correct the marked fields. Nothing was saved yet.")


def _program_zone() -> ZoneInfo:
    return ZoneInfo(program_timezone())


def local_today() -> date:
    """Today's date where the program works (the configured time zone, Peru by default)."""
    return datetime.now(_program_zone()).date()


def local_date(moment: datetime) -> date:
    """The date ``moment`` (UTC when naive, as the database keeps it) fell on in the program."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_program_zone()).date()


def parse_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or ``None`` when it is empty or malformed."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


#: A record id a client chose: a UUID in its canonical form (lower-case hex, four dashes).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RecordIdTaken(ValidationFailed):
    """A client-chosen record id that another record already holds (never overwritten)."""

    code = "record_id_taken"
    status = 409
    message = _l("Another record already has this record's id. Nothing was saved: discard this "
                 "item and enter it again.")


def chosen_record_id(raw: Any, model: Any) -> uuid.UUID | None:
    """The id a client (the tablet, offline) chose for a new ``model`` record, checked.

    A tablet names a family or an agreement it registered offline before the node knows it, so
    that what it drafts next can point at it. The node never trusts that choice: the id must be
    a well-formed UUID no row of the table holds (voided rows included). A replay of the same
    submission is answered earlier, from its idempotency key, and never gets here.

    :returns: ``None`` when no id was chosen (the model makes one).
    :raises ValidationFailed: not a UUID in canonical form, or the nil UUID.
    :raises RecordIdTaken: another record already holds it.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    if not _CANONICAL_UUID.fullmatch(text) or text == str(uuid.UUID(int=0)):
        raise ValidationFailed(_l("The record's id made on the tablet is not valid. Discard "
                                  "this item and enter it again."), field="record_id")
    value = uuid.UUID(text)
    if db.session.get(model, value) is not None:
        raise RecordIdTaken(field="record_id")
    return value


def field_errors(form: FlaskForm) -> dict[str, str]:
    """The first error of each field, by field name (for JSON clients)."""
    fields: dict[str, str] = {}
    for name, field in form._fields.items():  # not ``form.errors``: WTForms caches it
        errors = field.errors
        if isinstance(errors, dict):  # a nested form
            for sub, sub_errors in errors.items():
                if sub_errors:
                    fields[f"{name}-{sub}"] = str(sub_errors[0])
        elif errors:
            fields[name] = str(errors[0])
    return fields


def apply_error(form: FlaskForm, error: AppError) -> None:
    """Show an operation's error next to its field, or above the form when it has none."""
    name = error.details.get("field") if error.details else None
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*(field.errors or []), str(error.message)]
    elif not wants_json():
        flash(str(error.message), "error")


def created(entity_id: uuid.UUID, url: str, was_created: bool, message: Any) -> Response:
    """The answer to a successful create: JSON ``{"id", "url"}`` or a redirect with a note."""
    if wants_json():
        response = jsonify(id=str(entity_id), url=url)
        response.status_code = 201 if was_created else 200
        return response
    if was_created:
        flash(str(message), "success")
    return redirect(url)


def rejected(form: FlaskForm, render: Callable[[], str], error: AppError | None = None) -> Any:
    """The answer to a create that was not saved: the form again, or a JSON error.

    :param render: renders the form page (called only for people).
    :param error: the operation's error; ``None`` means the form's own validation failed.
    """
    db.session.rollback()
    status = error.status if error is not None else 422
    if wants_json():
        fields = field_errors(form)
        body: dict[str, Any] = {
            "code": error.code if error is not None else "invalid",
            "message": str(error.message if error is not None else INVALID_MESSAGE),
            "details": {**(error.details if error is not None else {}), "fields": fields},
        }
        body["details"].pop("field", None)
        response = jsonify(error=body)
        response.status_code = status
        return response
    return render(), status


def fail_with(form: FlaskForm, render: Callable[[], str], error: AppError) -> Any:
    """Attach ``error`` to the form (field or banner) and answer like :func:`rejected`."""
    db.session.rollback()
    apply_error(form, error)
    return rejected(form, render, error)
