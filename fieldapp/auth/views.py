"""Login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from fieldapp.auth import bp
from fieldapp.auth.access import public
from fieldapp.auth.forms import LoginForm
from fieldapp.auth.operations import LoginLocked, authenticate
from fieldapp.extensions import db


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` within this site (no open redirects)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Log in with user name and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, request.remote_addr)
        except LoginLocked as locked:
            db.session.commit()
            flash(
                _("Too many failed attempts. Try again after %(time)s.",
                  time=format_datetime(locked.until, "short")),
                "error",
            )
            status = 429
        else:
            db.session.commit()
            if user is None:
                flash(_("User name or password is not right."), "error")
                status = 401
            else:
                login_user(user, remember=form.remember.data)
                session.permanent = True
                flash(_("Welcome, %(name)s.", name=user.full_name), "success")
                return redirect(_safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (the PWA also clears this user's cached pages)."""
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<lang>", methods=["POST"])
@public
def set_language(lang: str):
    """Switch the interface language; remembered for the logged-in user."""
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    back = request.form.get("next") or request.referrer and urlsplit(request.referrer).path
    return redirect(_safe_next(back))
