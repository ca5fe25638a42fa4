"""Importing a register the program already keeps (CSV or XLSX) as families: upload, a
preview with every row's verdict, then one transaction through the family form's rules."""

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/families/import")

from fieldapp.imports import views  # noqa: E402, F401
