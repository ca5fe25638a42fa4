"""The engine as a Flask extension: ``SyncEngine().init_app(app, ...)``.

The wiring only: it attaches an :class:`~sync.state.AppState` to the app, installs change
capture and, on central, registers the ``/sync/v1`` blueprint. Nothing in ``sync`` imports this
module; the app does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask
from sqlalchemy import MetaData
from sqlalchemy.orm import Session, scoped_session

from sync.capture import events
from sync.central import media as central_media
from sync.central import server
from sync.registry import Registry, TableSpec
from sync.schema import define_tables
from sync.state import AppState, Exchange, MediaHooks, NodeDirectory


class SyncEngine:
    """The Flask extension; one object serves every app of the process."""

    def init_app(
        self,
        app: Flask,
        *,
        session: scoped_session,
        metadata: MetaData,
        tables: Iterable[TableSpec],
        schema_version: Callable[[Session], str],
        app_version: str,
        directory: NodeDirectory | None = None,
        exchanges: Iterable[Exchange] = (),
        media: MediaHooks | None = None,
    ) -> AppState:
        """Attach the engine to ``app``.

        :param session: the app's scoped session (Flask-SQLAlchemy's ``db.session``).
        :param metadata: the app's metadata; the engine's tables are defined on it.
        :param tables: the synced tables, see :class:`~sync.registry.TableSpec`.
        :param schema_version: reads the database's schema version (e.g. Alembic's head).
        :param app_version: the application's version, reported in the handshake.
        :param directory: central's node directory (required on central).
        :param exchanges: the app's own requests riding on sync (see :class:`~sync.state.Exchange`).
        :param media: the app's files moved apart from the records (photos, scans).
        """
        role = app.config.get("ROLE", "field")
        state = AppState(
            app=app,
            role=role,
            registry=Registry(tables),
            tables=define_tables(metadata),
            session=session,
            schema_version=schema_version,
            app_version=app_version,
            directory=directory,
            exchanges={exchange.name: exchange for exchange in exchanges},
            media=media,
        )
        app.extensions["sync"] = state
        events.install()
        events.track_old_values(state.registry)
        if role == "central":
            if directory is None:
                raise RuntimeError("central needs a node directory")
            app.register_blueprint(server.bp)
            if media is not None:
                app.register_blueprint(central_media.bp)
        return state
