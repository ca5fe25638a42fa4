"""Plots as shapes: several per family, their boundaries with history, measured areas; the
deforestation alerts matched to them."""

from flask import Blueprint

bp = Blueprint("plots", __name__, url_prefix="/plots")

from fieldapp.plots import alert_views, views  # noqa: E402, F401
