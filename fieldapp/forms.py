"""Form pieces shared by every domain."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import Optional, Regexp

from fieldapp.errors import ValidationFailed


def new_key() -> str:
    """A fresh idempotency key for a create form."""
    return str(uuid.uuid4())


class CreateForm(FlaskForm):
    """A create form: carries an idempotency key so a double submit makes one record.

    The key is made when the form is first shown and travels with every re-submission
    (including the PWA's offline replay).
    """

    idempotency_key = HiddenField(
        default=new_key,
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z0-9-]{8,64}$", message=_l("The form's key is malformed; reload the page.")),
        ],
    )


def json_created(entity_id: uuid.UUID, url: str, created: bool) -> Response:
    """A create form's answer to a program (the PWA outbox): 201 when made now, 200 if before."""
    response = jsonify(id=str(entity_id), url=url)
    response.status_code = 201 if created else 200
    return response


def json_invalid(form: FlaskForm, message: Any = None) -> Response:
    """A create form's validation errors for a program: 422 with the messages of each field."""
    fields = {
        name: [str(m) for m in messages]
        for name, messages in form.errors.items()
        if isinstance(messages, list)
    }
    body = {
        "code": ValidationFailed.code,
        "message": str(message or _l("Please correct the marked fields. Nothing was saved yet.")),
        "details": {"fields": fields},
    }
    response = jsonify(error=body)
    response.status_code = 422
    return response
