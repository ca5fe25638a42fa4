"""Printing: PDF builders (pure: data in, bytes out), QR helpers, the print views
(``fieldapp.printing.views``) and central's public verification page.

The blueprints are loaded on first access, so batch workers, which import only the builders,
do not load the web and database layers.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("bp", "verify_bp"):
        from fieldapp.printing import views

        return getattr(views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
