"""Form pieces shared by every domain."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from wtforms import HiddenField
from wtforms.validators import Optional, Regexp


class NulFreeValues(ImmutableMultiDict):
    """A request's query or form fields without NUL characters.

    Nobody types NUL, and PostgreSQL's text cannot hold it: a search or a form carrying one
    failed on central with a 500. It is dropped, everything else kept as sent.
    """

    def __init__(self, mapping: Any = None) -> None:
        if mapping is not None:
            mapping = [(key.replace("\x00", ""),
                        value.replace("\x00", "") if isinstance(value, str) else value)
                       for key, value in iter_multi_items(mapping)]
        super().__init__(mapping)


class AppRequest(Request):
    """The app's request: its query and form fields are :class:`NulFreeValues`."""

    parameter_storage_class = NulFreeValues


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
            Regexp(r"^[A-Za-z0-9-]{8,64}$",
                   message=_l("The form's key is malformed; reload the page.")),
        ],
    )
