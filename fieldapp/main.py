"""The home page: where a field worker starts the day."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from fieldapp.communities.models import Community
from fieldapp.extensions import db
from fieldapp.families.models import Family

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    """Home: the worklist of my communities first, then counts and the main actions."""
    counts = {
        "families": db.session.scalar(
            select(func.count(Family.id)).where(Family.voided.is_(False))),
        "communities": db.session.scalar(
            select(func.count(Community.id)).where(Community.voided.is_(False))
        ),
    }
    from fieldapp.auth.access import scoped_community_ids
    from fieldapp.pwa.worklist import KIND_LABELS, worklist

    return render_template("main/index.html", counts=counts,
                           worklist=worklist(scoped_community_ids()), kind_labels=KIND_LABELS)
