"""Human-readable codes unique across offline nodes, without asking a server.

A code is ``<program>-<node code>-<number>`` (family ``AM-K7Q-0042``) or, with a year,
``<program>-<year>-<node code>-<number>`` (agreement ``AM-2026-K7Q-0001``). Each node numbers
its own codes; the node code keeps two nodes apart.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.extensions import db
from fieldapp.models import Base


class CodeSequence(Base):
    """The last number handed out for a code prefix on this node (local, not synced)."""

    __tablename__ = "code_sequences"

    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


def next_code(kind: str | None = None, year: int | None = None, width: int = 4) -> str:
    """Hand out the next code for ``kind`` on this node, e.g. ``AM-K7Q-0042``.

    :param kind: an optional letter for the record type (``T`` trainings, ``D`` deliveries...).
    :param year: put the year in the code (agreements).
    :param width: zero-padding of the number.
    """
    return next_codes(1, kind, year, width)[0]


def next_codes(count: int, kind: str | None = None, year: int | None = None,
               width: int = 4) -> list[str]:
    """Hand out the next ``count`` codes at once (one counter update), in order, as
    :func:`next_code` would one by one (an imported register)."""
    parts = [current_app.config["PROGRAM_PREFIX"]]
    if kind:
        parts.append(kind)
    if year:
        parts.append(str(year))
    parts.append(current_app.config["NODE_CODE"])
    prefix = "-".join(parts)
    last = _next_value(prefix, count)
    return [f"{prefix}-{n:0{width}d}" for n in range(last - count + 1, last + 1)]


def made_by(code: object, node_code: str) -> bool:
    """Whether ``code`` is one :func:`next_code` hands out on the node ``node_code``: its
    second-to-last part is the node's code and its last a number (central checks a pushed new
    record's code with it)."""
    if not isinstance(code, str):
        return False
    parts = code.split("-")
    return len(parts) >= 3 and parts[-2] == node_code and parts[-1].isdigit()


def _next_value(prefix: str, count: int = 1) -> int:
    """Atomically take the next ``count`` numbers for ``prefix`` (one UPDATE ... RETURNING);
    returns the last of them.

    A read-then-write would hand two concurrent requests the same number.
    """
    bump = (
        update(CodeSequence)
        .where(CodeSequence.prefix == prefix)
        .values(last_value=CodeSequence.last_value + count)
        .returning(CodeSequence.last_value)
    )
    value = db.session.execute(bump).scalar_one_or_none()
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.add(CodeSequence(prefix=prefix, last_value=count))
        return count
    except IntegrityError:  # another request created the row first
        return db.session.execute(bump).scalar_one()
