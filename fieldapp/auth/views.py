"""Login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from fieldapp.auth import bp
from fieldapp.auth.access import public
from fieldapp.auth.forms import LoginForm, PasswordChangeForm
from fieldapp.auth.operations import (
    LoginLocked,
    change_own_password,
    check_credentials,
    claim_login_attempt,
    end_sessions,
)
from fieldapp.errors import ValidationFailed
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
            claim_login_attempt(form.username.data, request.remote_addr)
        except LoginLocked as locked:
            db.session.commit()
            flash(
                _("Too many failed attempts. Try again after %(time)s.",
                  time=format_datetime(locked.until, "short")),
                "error",
            )
            status = 429
        else:
            db.session.commit()  # the attempt counts before the (slow) password check
            user = check_credentials(form.username.data, form.password.data)
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
    """Log out everywhere: every session of the user ends, on every device (the PWA also
    clears this user's cached pages)."""
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    """Change one's own password; the user's other sessions end, this one goes on."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_own_password(current_user, form.current.data, form.password.data)
        except ValidationFailed as error:
            db.session.rollback()
            form.current.errors = [
                str(error.message) if error.details.get("reason") == "managed_on_central"
                else _("The current password is not right.")]
        else:
            db.session.commit()
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(current_user._get_current_object(),  # the new session token
                       remember=remembered in request.cookies)
            session.permanent = True
            flash(_("Your password has been changed. Your other sessions have ended."),
                  "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form), (422 if form.errors else 200)


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
