"""Coordinators' program dashboard: figures, charts, map, lists, exports and the donor summary."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from fieldapp.dashboard import views  # noqa: E402, F401
