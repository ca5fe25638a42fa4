"""Evidence: photos and scans attached to families, agreements, deliveries and visits."""

from flask import Blueprint

bp = Blueprint("media", __name__, url_prefix="/media")

from fieldapp.media import views  # noqa: E402, F401
