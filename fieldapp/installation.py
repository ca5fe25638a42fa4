"""Facts about the installation kept in its own database: the role it was set up for.

A field node's process pointed at central's database (or central at a node's) would write the
wrong kind of rows into it: node outbox entries into the program's record, or central's change
log into a node. The role is recorded in the database on its first start, and every later start
compares the configured ``ROLE`` with it and refuses to start when they differ.

It is a table of its own rather than a row of the sync engine's ``sync_state``: that table is
the engine's (numeric counters, and ``sync`` never knows fieldapp), and the role guards more than
sync. Local to the installation: never synced.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import String, Text, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.models import Base, utcnow


class InstallationFact(Base):
    """One named fact about this installation (``role``), written once."""

    __tablename__ = "installation_facts"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleMismatch(RuntimeError):
    """The configured role is not the one the database was set up for."""

    def __init__(self, configured: str, recorded: str, database: str) -> None:
        self.configured, self.recorded = configured, recorded
        super().__init__(
            f"This process is configured as {configured!r} (FIELDAPP_ROLE) but its database "
            f"({database}) belongs to a {recorded!r} installation. Refusing to start, so that "
            f"no {configured} rows are written into a {recorded} database. Point "
            f"SQLALCHEMY_DATABASE_URI (or FIELDAPP_INSTANCE_PATH) at this {configured}'s own "
            f"database, or set FIELDAPP_ROLE={recorded} if this really is the {recorded}."
        )


def check_role(app: Flask) -> None:
    """Record the configured role on the database's first start; refuse a different one after.

    A database not migrated yet (no table) is left alone: the check runs on the start after
    its upgrade.

    :raises RoleMismatch: the database was set up for the other role.
    """
    from fieldapp.extensions import db

    configured = app.config["ROLE"]
    with app.app_context():
        if not inspect(db.engine).has_table(InstallationFact.__tablename__):
            return
        recorded = db.session.execute(
            select(InstallationFact.value).where(InstallationFact.key == "role")
        ).scalar_one_or_none()
        if recorded is None:
            db.session.add(InstallationFact(key="role", value=configured, recorded_at=utcnow()))
            try:
                db.session.commit()
            except IntegrityError:  # another process's first start recorded it just now
                db.session.rollback()
                check_role(app)
            return
        db.session.rollback()
        if recorded != configured:
            db.engine.dispose()
            raise RoleMismatch(configured, recorded,
                               db.engine.url.render_as_string(hide_password=True))
