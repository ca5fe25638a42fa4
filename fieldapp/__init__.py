"""fieldapp: conservation-agreement field data system (field nodes and central)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from fieldapp.locations import ROOT  # noqa: F401 - the checkout (or site-packages), as before

__version__ = "0.2.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config layers, extensions, blueprints. Nothing else.

    :param test_config: a mapping applied last (tests); it may set ``INSTANCE_PATH``.
    """
    from fieldapp.locations import instance_folder, web_folders

    instance_path = instance_folder((test_config or {}).get("INSTANCE_PATH"))
    templates, static = web_folders()  # the checkout's folders, or the wheel's copy
    app = Flask(
        __name__,
        template_folder=str(templates),
        static_folder=str(static),
        instance_path=str(instance_path),
        instance_relative_config=True,
    )
    _configure(app, test_config)

    from fieldapp import setup

    setup.init_extensions(app)
    setup.register_blueprints(app)
    setup.init_database(app)
    return app


def _configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    from fieldapp.config import DefaultConfig
    from fieldapp.instance import load_node_identity, load_secret_key, secure_instance

    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("FIELDAPP")
    if test_config:
        app.config.from_mapping(test_config)

    # One time zone for the program: Flask-Babel's follows PROGRAM_TIMEZONE.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["PROGRAM_TIMEZONE"]
    instance_path = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(instance_path)
    identity = load_node_identity(instance_path)
    app.config.setdefault("NODE_ID", identity["node_id"])
    app.config.setdefault("NODE_CODE", identity["node_code"])
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'fieldapp.sqlite'}"
    secure_instance(instance_path, _sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"]),
                    app.logger)
    if app.config["ROLE"] not in ("field", "central"):
        raise RuntimeError(
            f"FIELDAPP_ROLE must be 'field' or 'central', not {app.config['ROLE']!r}")



def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (``None`` for another database or in memory)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()
