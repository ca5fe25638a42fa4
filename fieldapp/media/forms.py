"""The form that attaches a photo or a scan to a record."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from fieldapp.media.rules import CAPTION_MAX

#: Kind -> its label.
KIND_LABELS = {
    "photo": _l("Photo"),
    "scan": _l("Scan of the signed paper copy"),
    "receipt": _l("Receipt or thumbprint"),
    "evidence": _l("Evidence found on the visit"),
}


class AttachmentForm(FlaskForm):
    """A photo or scan, its kind and caption (the tablet adds time and place when kept)."""

    file = FileField(_l("Photo or scan"), validators=[FileRequired(_l("Choose a photo."))])
    kind = SelectField(_l("What it shows"), choices=[], validate_choice=False)
    caption = StringField(_l("Caption"), validators=[Optional(), Length(max=CAPTION_MAX)])
    taken_at = StringField(validators=[Optional(), Length(max=40)])
    lat = StringField(validators=[Optional(), Length(max=30)])
    lon = StringField(validators=[Optional(), Length(max=30)])

    def for_kinds(self, kinds: tuple[str, ...]) -> AttachmentForm:
        self.kind.choices = [(k, KIND_LABELS[k]) for k in kinds]
        return self


class VoidForm(FlaskForm):
    """Void a wrong photo or scan (kept for auditors, hidden everywhere else)."""

    reason = TextAreaField(_l("Why is it voided?"),
                           validators=[DataRequired(_l("Write why this photo is voided.")),
                                       Length(max=500)])
