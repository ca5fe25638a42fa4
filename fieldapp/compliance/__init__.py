"""Compliance (monitoring) visits, their findings per commitment, and graduated sanctions."""

from flask import Blueprint

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

from fieldapp.compliance import views  # noqa: E402, F401
