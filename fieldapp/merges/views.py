"""The coordinators' review of families registered twice, on central: pairs ranked by score,
side by side, and the three decisions (merge into A, merge into B, two families)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from fieldapp.auth.access import central_only, role_required
from fieldapp.errors import AppError
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.operations import EDITABLE
from fieldapp.families.queries import duplicate_pairs
from fieldapp.merges import bp
from fieldapp.merges.operations import mark_distinct, merge_families
from fieldapp.merges.queries import family_records, live_agreement_numbers

#: The review list shows this many pairs, best first.
REVIEW_LIMIT = 200

#: The fields shown side by side, with their labels.
FIELD_LABELS = {
    "community_id": _l("Community"),
    "head_given_names": _l("Given names of the head of household"),
    "head_surname": _l("Surnames"),
    "dni": _l("DNI"),
    "members_count": _l("Household members"),
    "phone": _l("Phone"),
    "lat": _l("Plot latitude"),
    "lon": _l("Plot longitude"),
    "plot_name": _l("Plot name"),
    "plot_ha": _l("Plot (ha)"),
    "forest_ha": _l("Forest (ha)"),
    "coffee_ha": _l("Coffee (ha)"),
    "data_consent": _l("Data-use consent"),
    "notes": _l("Notes"),
}
#: Why a pair is proposed, as the list says it.
REASONS = {
    "dni": _l("same DNI"),
    "name": _l("similar name"),
    "community": _l("same community"),
    "neighbour": _l("neighbouring community"),
    "plot": _l("plot within 200 m"),
    "phone": _l("same phone"),
}


class DecisionForm(FlaskForm):
    """The CSRF token of a decision (the choices are read from the request)."""


def _pair(a_id: uuid.UUID, b_id: uuid.UUID) -> tuple[Family, Family]:
    a, b = db.get_or_404(Family, a_id), db.get_or_404(Family, b_id)
    return a, b


@bp.route("")
@central_only
@role_required("coordinator")
def duplicates():
    """Families that may be registered twice, best score first."""
    pairs = duplicate_pairs(REVIEW_LIMIT)
    ids = {i for m in pairs for i in (m.a, m.b)}
    families = {f.id: f for f in db.session.execute(
        db.select(Family).where(Family.id.in_(ids))).scalars()} if ids else {}
    return render_template("merges/index.html", pairs=pairs, families=families,
                           reasons=REASONS)


@bp.route("/<uuid:a_id>/<uuid:b_id>", methods=["GET", "POST"])
@central_only
@role_required("coordinator")
def duplicate_pair(a_id: uuid.UUID, b_id: uuid.UUID):
    """Two families side by side: every field, what hangs on each; merge or keep both."""
    a, b = _pair(a_id, b_id)
    form = DecisionForm()
    if form.validate_on_submit():
        action = request.form.get("action")
        try:
            if action in ("into_a", "into_b"):
                survivor, merged = (a, b) if action == "into_a" else (b, a)
                chosen = {}
                for key in EDITABLE:
                    side = request.form.get(f"field_{key}")
                    source = a if side == "a" else b if side == "b" else survivor
                    chosen[key] = getattr(source, key)
                versions = _versions(request.form, a, b, survivor)
                merge_families(survivor, merged, chosen, current_user, versions)
                db.session.commit()
                flash(_("Families merged: %(merged)s now leads to %(survivor)s.",
                        merged=merged.code, survivor=survivor.code), "success")
                numbers = live_agreement_numbers(survivor.id)
                if len(numbers) > 1:
                    flash(_("The family now has %(count)s signed or active agreements (%(numbers)s)"
                            ". Decide which one continues; none was voided.",
                            count=len(numbers), numbers=", ".join(numbers)), "warning")
                return redirect(url_for("families.detail", family_id=survivor.id))
            if action == "distinct":
                mark_distinct(a, b, current_user)
                db.session.commit()
                flash(_("Noted: two different families. This pair will not be proposed again."),
                      "success")
                return redirect(url_for("merges.duplicates"))
            flash(_("Choose one of the options."), "error")
        except AppError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            a, b = _pair(a_id, b_id)
            return render_template("merges/pair.html", a=a, b=b, form=form,
                                   records={a.id: family_records(a.id),
                                            b.id: family_records(b.id)},
                                   labels=FIELD_LABELS), error.status
    return render_template("merges/pair.html", a=a, b=b, form=form,
                           records={a.id: family_records(a.id), b.id: family_records(b.id)},
                           labels=FIELD_LABELS)


def _versions(values: dict, a: Family, b: Family, survivor: Family) -> tuple[int, int] | None:
    """The (survivor, merged) versions the page showed, if it sent them."""
    try:
        seen = int(values["version_a"]), int(values["version_b"])
    except (KeyError, ValueError):
        return None
    return seen if survivor is a else (seen[1], seen[0])
