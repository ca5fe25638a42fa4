"""Grievances: a complaints channel every family can use, tracked to an answer (CCB standards)."""

from flask import Blueprint

bp = Blueprint("grievances", __name__, url_prefix="/grievances")
#: The public status page a grievance slip's QR leads to (status and dates, nothing else).
status_bp = Blueprint("grievance_status", __name__, url_prefix="/grievance-status")

from fieldapp.grievances import views  # noqa: E402, F401
