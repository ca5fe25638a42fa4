"""Community list and editing (coordinators)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from fieldapp.auth.access import role_required
from fieldapp.communities import bp
from fieldapp.communities.forms import CommunityForm
from fieldapp.communities.models import Community
from fieldapp.communities.operations import FIELDS, create_community, update_community
from fieldapp.communities.queries import communities_with_family_counts
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db


@bp.route("/")
def index():
    """All communities with their number of families."""
    return render_template("communities/index.html", rows=communities_with_family_counts())


@bp.route("/new", methods=["GET", "POST"])
@role_required("coordinator")
def create():
    """Add a community."""
    return _form_page(CommunityForm(), None)


@bp.route("/<uuid:community_id>/edit", methods=["GET", "POST"])
@role_required("coordinator")
def edit(community_id: uuid.UUID):
    """Change a community."""
    community = db.get_or_404(Community, community_id)
    return _form_page(CommunityForm(obj=community), community)


def _form_page(form: CommunityForm, community: Community | None) -> Any:
    """Save a valid form (a new community, or changes to ``community``) and go back to the
    list; otherwise show the form (422 with its errors)."""
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in FIELDS}
        try:
            if community is None:
                community = create_community(data)
            else:
                update_community(community, data)
        except ValidationFailed:
            form.code.errors.append(_("This code is already used by another community."))
        else:
            db.session.commit()
            flash(_("Community %(name)s saved.", name=community.name), "success")
            return redirect(url_for("communities.index"))
    return render_template("communities/form.html", form=form, community=community), (
        422 if form.errors else 200
    )
