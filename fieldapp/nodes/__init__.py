"""Field nodes and sync: on central the nodes, their sync dashboard, conflicts and quarantine;
on a field node its own sync status and the "Sync now" button."""

from flask import Blueprint

bp = Blueprint("nodes", __name__, url_prefix="/nodes")

from fieldapp.nodes import views  # noqa: E402, F401
