"""Training sessions and their attendance."""

from flask import Blueprint

bp = Blueprint("trainings", __name__, url_prefix="/trainings")

from fieldapp.trainings import views  # noqa: E402, F401
