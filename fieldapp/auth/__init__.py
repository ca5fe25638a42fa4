"""People and access: login, logout, roles, language choice."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from fieldapp.auth import views  # noqa: E402, F401
