"""Catalogue screens (admins): commitments and benefits, each in Spanish and English."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from fieldapp.agreements import bp
from fieldapp.agreements.catalogue import (
    create_benefit_type,
    create_commitment_type,
    quantity_with_unit,
    update_benefit_type,
    update_commitment_type,
)
from fieldapp.agreements.forms import CATEGORY_LABELS, BenefitTypeForm, CommitmentTypeForm
from fieldapp.agreements.models import BENEFIT_CATEGORIES, BenefitType, CommitmentType
from fieldapp.agreements.queries import catalogue_benefits, catalogue_commitments
from fieldapp.auth.access import role_required
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.submissions import apply_error


@bp.route("/catalogue")
@role_required("admin")
def catalogue():
    """The commitment and benefit catalogues that drafts are made from."""
    return render_template(
        "agreements/catalogue.html",
        commitments=catalogue_commitments(),
        benefits=catalogue_benefits(),
        category_labels=CATEGORY_LABELS,
    )


def _data(form: FlaskForm) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def _save(form: FlaskForm, kind: str, entry: CommitmentType | BenefitType | None):
    create = create_commitment_type if kind == "commitment" else create_benefit_type
    if form.validate_on_submit():
        try:
            if entry is None:
                entry = create(_data(form))
            elif kind == "commitment":
                update_commitment_type(entry, _data(form))
            else:
                update_benefit_type(entry, _data(form))
        except ValidationFailed as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Catalogue saved."), "success")
            return redirect(url_for("agreements.catalogue"))
    status = 422 if request.method == "POST" else 200
    return render_template("agreements/catalogue_form.html", form=form, kind=kind,
                           entry=entry), status


def _benefit_form(entry: BenefitType | None = None) -> BenefitTypeForm:
    form = BenefitTypeForm(obj=entry)
    form.category.choices = [(c, CATEGORY_LABELS[c]) for c in BENEFIT_CATEGORIES]
    return form


@bp.route("/catalogue/commitments/new", methods=["GET", "POST"])
@role_required("admin")
def commitment_new():
    """Add a commitment to the catalogue."""
    return _save(CommitmentTypeForm(), "commitment", None)


@bp.route("/catalogue/commitments/<uuid:entry_id>", methods=["GET", "POST"])
@role_required("admin")
def commitment_edit(entry_id: uuid.UUID):
    """Change a commitment of the catalogue (signed agreements keep their own text)."""
    entry = db.get_or_404(CommitmentType, entry_id)
    return _save(CommitmentTypeForm(obj=entry), "commitment", entry)


@bp.route("/catalogue/benefits/new", methods=["GET", "POST"])
@role_required("admin")
def benefit_new():
    """Add a benefit to the catalogue."""
    return _save(_benefit_form(), "benefit", None)


@bp.route("/catalogue/benefits/<uuid:entry_id>", methods=["GET", "POST"])
@role_required("admin")
def benefit_edit(entry_id: uuid.UUID):
    """Change a benefit of the catalogue."""
    entry = db.get_or_404(BenefitType, entry_id)
    return _save(_benefit_form(entry), "benefit", entry)


@bp.cli.command("seed-catalogues")
def seed_catalogues_command() -> None:
    """Add the program's default commitments and benefits that are missing."""
    import click

    from fieldapp.agreements.catalogue import seed_catalogues

    added_c, added_b = seed_catalogues()
    db.session.commit()
    click.echo(f"added {added_c} commitments and {added_b} benefits")


@bp.app_template_filter("quantity_unit")
def quantity_unit_filter(quantity: Any, unit: Any) -> str:
    """``{{ quantity|quantity_unit(unit) }}``: "1 kit", "3 kits" in the reader's language."""
    return quantity_with_unit(quantity, unit)
