"""Communities (villages and sectors) of the protected forest."""

from flask import Blueprint

bp = Blueprint("communities", __name__, url_prefix="/communities")

from fieldapp.communities import views  # noqa: E402, F401
