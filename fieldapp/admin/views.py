"""User administration screens."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from fieldapp.admin import bp
from fieldapp.auth.access import role_required
from fieldapp.auth.forms import UserForm
from fieldapp.auth.models import User
from fieldapp.auth.operations import MANAGED_ON_CENTRAL, update_user
from fieldapp.errors import ValidationFailed
from fieldapp.extensions import db
from fieldapp.families.queries import active_communities
from fieldapp.nodes.accounts import create_here, takes_accounts_from_central


def _with_choices(form: UserForm) -> UserForm:
    form.communities.choices = [SelectChoice(str(c.id), c.name) for c in active_communities()]
    return form


@bp.route("/users")
@role_required("admin")
def users():
    """Every user with role, communities and last login (on a field node: whose account it is,
    central's or this node's own)."""
    rows = db.session.execute(
        select(User).options(selectinload(User.communities)).order_by(User.username)
    ).scalars()
    return render_template("admin/users.html", users=list(rows),
                           managed_on_central=takes_accounts_from_central())


@bp.route("/users/new", methods=["GET", "POST"])
@role_required("admin")
def create_user_view():
    """Add a user."""
    if takes_accounts_from_central():
        flash(str(MANAGED_ON_CENTRAL), "error")
        return redirect(url_for("admin.users"))
    form = _with_choices(UserForm())
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = [_("A new user needs a password.")]
        else:
            try:
                user = create_here(form.username.data, form.full_name.data, form.password.data,
                                   form.role.data)
                update_user(user, form.full_name.data, form.role.data, form.communities.data,
                            form.active.data)
            except ValidationFailed as error:
                db.session.rollback()
                form.username.errors = [
                    str(error.message) if error.details.get("reason") else
                    _("This user name is taken.")]
            else:
                db.session.commit()
                flash(_("User %(name)s saved.", name=user.username), "success")
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), (
        422 if form.errors else 200
    )


@bp.route("/users/<uuid:user_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit_user(user_id: uuid.UUID):
    """Change a user's name, role, communities, state or password."""
    user = db.get_or_404(User, user_id)
    if user.from_central:
        flash(str(MANAGED_ON_CENTRAL), "error")
        return redirect(url_for("admin.users"))
    form = _with_choices(UserForm(obj=user))
    form.username.render_kw = {"readonly": True}
    if not form.is_submitted():
        form.communities.data = [str(c.id) for c in user.communities]
    form.username.data = user.username
    if form.validate_on_submit():
        update_user(user, form.full_name.data, form.role.data, form.communities.data,
                    form.active.data, form.password.data or None)
        db.session.commit()
        flash(_("User %(name)s saved.", name=user.username), "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user), (
        422 if form.errors else 200
    )
