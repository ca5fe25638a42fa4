"""Audit log: every create, change, reversal, status transition and sanction."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from fieldapp.audit import views  # noqa: E402, F401
