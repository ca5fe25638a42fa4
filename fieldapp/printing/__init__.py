"""Printing: PDF builders (pure: data in, bytes out), QR helpers, the print views and central's
public verification page."""

from flask import Blueprint

bp = Blueprint("printing", __name__, url_prefix="/print")
verify_bp = Blueprint("verification", __name__, url_prefix="/verify")

from fieldapp.printing import views  # noqa: E402, F401
