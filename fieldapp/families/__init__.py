"""Families (households): list, search, register and edit."""

from flask import Blueprint

bp = Blueprint("families", __name__, url_prefix="/families")

from fieldapp.families import views  # noqa: E402, F401
