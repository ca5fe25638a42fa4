"""Community list and editing (coordinators)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from fieldapp.auth.access import role_required
from fieldapp.collation import spanish
from fieldapp.communities import bp
from fieldapp.communities.forms import CommunityForm
from fieldapp.communities.models import Community
from fieldapp.communities.operations import FIELDS, create_community, update_community
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.models import Family


@bp.route("/")
def index():
    """All communities with their number of families."""
    rows = db.session.execute(
        select(Community, func.count(Family.id))
        .outerjoin(Family, (Family.community_id == Community.id) & Family.voided.is_(False))
        .where(Community.voided.is_(False))
        .group_by(Community.id)
        .order_by(spanish(Community.name))
    ).all()
    return render_template("communities/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
@role_required("coordinator")
def create():
    """Add a community."""
    form = CommunityForm()
    if form.validate_on_submit():
        try:
            community = create_community({k: getattr(form, k).data for k in FIELDS})
        except ValidationFailed:
            form.code.errors.append(_("This code is already used by another community."))
        else:
            db.session.commit()
            flash(_("Community %(name)s saved.", name=community.name), "success")
            return redirect(url_for("communities.index"))
    return render_template("communities/form.html", form=form, community=None), (
        422 if form.errors else 200
    )


@bp.route("/<uuid:community_id>/edit", methods=["GET", "POST"])
@role_required("coordinator")
def edit(community_id: uuid.UUID):
    """Change a community."""
    community = db.get_or_404(Community, community_id)
    form = CommunityForm(obj=community)
    if form.validate_on_submit():
        try:
            update_community(community, {k: getattr(form, k).data for k in FIELDS})
        except ValidationFailed:
            form.code.errors.append(_("This code is already used by another community."))
        else:
            db.session.commit()
            flash(_("Community %(name)s saved.", name=community.name), "success")
            return redirect(url_for("communities.index"))
    return render_template("communities/form.html", form=form, community=community), (
        422 if form.errors else 200
    )
