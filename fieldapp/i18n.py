"""Languages: Spanish first, English second; the locale a request is served in.

The Spanish catalogue ships as a ``.po`` file in ``fieldapp/translations``; it is compiled into
the instance folder when the app starts and the ``.mo`` is older than the ``.po`` (so a field node
that updates its code gets fresh translations without a build step).
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, has_request_context, request, session
from flask_login import current_user

from fieldapp.instance import make_private_dirs, open_private, private_tmp

PACKAGE_TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues(target: Path) -> None:
    """Compile every ``.po`` of the package into ``target`` when missing or stale."""
    for po_path in PACKAGE_TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
        rel = po_path.relative_to(PACKAGE_TRANSLATIONS)
        mo_path = (target / rel).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        make_private_dirs(mo_path.parent)  # the instance folder is private (fieldapp.instance)
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=rel.parts[0])
        tmp = private_tmp(mo_path)  # workers starting together each write their own
        with os.fdopen(open_private(tmp), "wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        tmp.replace(mo_path)


#: Formatting conventions per language: Peruvian Spanish (``1,234.5``; dates in Spanish).
REGIONS = {"es": "es_PE"}


def select_language() -> str:
    """The user's saved language, else the session's choice, else the browser's, else Spanish."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, sync loop, tests building data: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def select_locale() -> str:
    """The locale of the request: the language, with Peru's conventions for Spanish."""
    language = select_language()
    return REGIONS.get(language, language)


def init_app(app: Flask) -> None:
    """Compile catalogues into the instance folder and point Flask-Babel at them."""
    from fieldapp.extensions import babel

    target = Path(app.instance_path) / "translations"
    compile_catalogues(target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    babel.init_app(app, locale_selector=select_locale)
