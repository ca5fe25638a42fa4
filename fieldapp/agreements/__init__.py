"""Agreements: drafts from the catalogues, signing, amendments, renewals and status changes."""

from flask import Blueprint

bp = Blueprint("agreements", __name__, url_prefix="/agreements")

from fieldapp.agreements import catalogue_views, rules, views  # noqa: E402, F401
