"""Duplicate families reviewed and merged on central (coordinators): ``/families/duplicates``.

Above every domain that records something about a family, since a merge re-points them all.
"""

from flask import Blueprint

bp = Blueprint("merges", __name__, url_prefix="/families/duplicates")

from fieldapp.merges import views  # noqa: E402, F401
