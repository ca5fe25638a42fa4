"""Administration: users and their communities (admins only)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from fieldapp.admin import views  # noqa: E402, F401
