"""The coordinators' review of families registered twice, on central: pairs ranked by score,
side by side, and the three decisions (merge into A, merge into B, two families)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
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
from fieldapp.families.sections import FamilyPage, register_section
from fieldapp.merges import bp
from fieldapp.merges.operations import (
    mark_all_distinct,
    mark_distinct,
    merge_cluster,
    merge_families,
    undo_merge,
    undo_refusal,
)
from fieldapp.merges.queries import clusters_of, family_records, live_agreement_numbers

#: The review list shows this many pairs, best first.
REVIEW_LIMIT = 200
#: The most families one cluster page compares (their letters).
CLUSTER_LETTERS = "ABCDEFGHIJ"

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


@bp.record_once
def _register_contributions(state: BlueprintSetupState) -> None:
    """The family page's list of the families merged into it, each with its undo (central)."""
    register_section(state.app, "merged", _merged_section, "merges/_family_section.html", 90,
                     title=_l("Merged into this family"))


def _merged_section(page: FamilyPage) -> Any:
    """The families merged into this one, and why each merge can no longer be undone (if so):
    for coordinators on central, when there are any."""
    if current_app.config["ROLE"] != "central" or not current_user.has_role("coordinator"):
        return None
    merged = db.session.execute(db.select(Family).where(
        Family.merged_into_id == page.family.id).order_by(Family.code)).scalars().all()
    if not merged:
        return None
    return {"rows": [(f, undo_refusal(f)) for f in merged], "form": DecisionForm()}


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
    pairs = duplicate_pairs()
    likely = [m for m in pairs if not m.weak][:REVIEW_LIMIT]
    weak = [m for m in pairs if m.weak][:REVIEW_LIMIT]
    ids = {i for m in (*likely, *weak) for i in (m.a, m.b)}
    families = {f.id: f for f in db.session.execute(
        db.select(Family).where(Family.id.in_(ids))).scalars()} if ids else {}
    return render_template("merges/index.html", clusters=clusters_of(likely),
                           weak=clusters_of(weak), families=families, reasons=REASONS)


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
                return _merged(survivor)
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


def _merged(survivor: Family):
    """After a merge: the survivor's page, warned of two agreements in force if it has them."""
    numbers = live_agreement_numbers(survivor.id)
    if len(numbers) > 1:
        flash(_("The family now has %(count)s signed or active agreements (%(numbers)s)"
                ". Decide which one continues; none was voided.",
                count=len(numbers), numbers=", ".join(numbers)), "warning")
    return redirect(url_for("families.detail", family_id=survivor.id))


def _cluster_families() -> list[Family]:
    """The families the cluster page names (``?f=<id>&f=<id>…``), in that order."""
    from fieldapp.errors import ValidationFailed
    from fieldapp.submissions import parse_uuid

    ids = list(dict.fromkeys(parse_uuid(v) for v in request.args.getlist("f")))
    if None in ids or not 2 <= len(ids) <= len(CLUSTER_LETTERS):
        raise ValidationFailed(_("Name between 2 and %(n)s families to compare.",
                                 n=len(CLUSTER_LETTERS)), field="f")
    return [db.get_or_404(Family, i) for i in ids]


@bp.route("/cluster", methods=["GET", "POST"])
@central_only
@role_required("coordinator")
def duplicate_cluster():
    """Three or more families that may be one, side by side: merge the ones that are into one
    of them, or keep them all."""
    families = _cluster_families()
    form = DecisionForm()
    status = 200
    if form.validate_on_submit():
        action = request.form.get("action", "")
        try:
            if action.startswith("into_") and action[5:].isdigit() \
                    and int(action[5:]) < len(families):
                survivor = families[int(action[5:])]
                merged = [f for n, f in enumerate(families)
                          if f is not survivor and request.form.get(f"include_{n}")]
                # A value is taken from a family being merged; any other answer: the survivor's.
                kept = {str(n): f for n, f in enumerate(families)
                        if f is survivor or f in merged}
                chosen = {key: getattr(kept.get(request.form.get(f"field_{key}", ""), survivor),
                                       key) for key in EDITABLE}
                versions = {}
                for n, f in enumerate(families):
                    try:
                        versions[f.id] = int(request.form.get(f"version_{n}", ""))
                    except ValueError:
                        pass
                merge_cluster(survivor, merged, chosen, current_user,
                              versions if len(versions) == len(families) else None)
                db.session.commit()
                flash(_("Families merged: %(merged)s now lead to %(survivor)s.",
                        merged=", ".join(f.code for f in merged), survivor=survivor.code),
                      "success")
                return _merged(survivor)
            if action == "distinct":
                mark_all_distinct(families, current_user)
                db.session.commit()
                flash(_("Noted: different families. These pairs will not be proposed again."),
                      "success")
                return redirect(url_for("merges.duplicates"))
            flash(_("Choose one of the options."), "error")
        except AppError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            families = _cluster_families()
            status = error.status
    return render_template("merges/cluster.html", families=families, form=form,
                           letters=CLUSTER_LETTERS,
                           records={f.id: family_records(f.id) for f in families},
                           labels=FIELD_LABELS), status


@bp.route("/<uuid:merged_id>/undo", methods=["POST"])
@central_only
@role_required("coordinator")
def undo(merged_id: uuid.UUID):
    """Undo a merge, while nothing was recorded on the family it was merged into since."""
    merged = db.get_or_404(Family, merged_id)  # the CSRF token is checked app-wide
    survivor = undo_merge(merged, current_user)
    db.session.commit()
    flash(_("Merge undone: %(merged)s and %(survivor)s are two families again.",
            merged=merged.code, survivor=survivor.code), "success")
    return redirect(url_for("families.detail", family_id=merged.id))
