"""Benefit deliveries: append-only, against the family's active agreement; reversals."""

from flask import Blueprint

bp = Blueprint("deliveries", __name__, url_prefix="/deliveries")

from fieldapp.deliveries import views  # noqa: E402, F401
