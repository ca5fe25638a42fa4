"""The analysts' read API on central (``/api/v1/<dataset>``) and its tokens (admins only).

The datasets and columns are the dashboard's exports (:mod:`fieldapp.dashboard.entities`);
this package adds who may read them (tokens, :mod:`.operations`), how they are paged
(:mod:`.paging`) and described (:mod:`.openapi`).
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
tokens_bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")

from fieldapp.api import views  # noqa: E402, F401
