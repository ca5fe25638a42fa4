"""Form pieces shared by every domain."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import Optional, Regexp


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
