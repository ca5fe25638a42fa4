"""What every part of the demo generator shares: the demo's fixed facts and its row helpers.

The demo's "today", its users and their one password, and :class:`GeneratorBase`, which holds
the seeded random generator and makes the common columns of every row (id, timestamps, origin
node), the program codes with their counters, and the tally of what was created. :func:`bulk`
puts rows in through Core inserts; :func:`stamp` dates a record within a working day.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time
from typing import Any

from flask import current_app

from fieldapp.extensions import db
from fieldapp.models import new_id
from sync.capture.events import insert_rows

#: The demo's "today": everything is dated on or before it, whatever the machine's clock says.
DEMO_TODAY = date(2026, 10, 31)
DEMO_PASSWORD = "fieldapp-demo"  # noqa: S105 - printed by the README's run command on purpose
DEMO_USERS = [
    ("admin", "Ana Torres (administradora)", "admin"),
    ("coordinadora", "Rosa Fernández Guevara", "coordinator"),
    ("promotor", "Wilmer Tuanama Sánchez", "field_staff"),
    ("promotora", "Nilda Chuquizuta Díaz", "field_staff"),
]
BATCH = 5000


def bulk(model: type, rows: list[dict[str, Any]]) -> None:
    """Insert the rows into the model's table through Core, ``BATCH`` rows per statement; on a
    PostgreSQL central with ``COPY`` (:func:`sync.capture.events.insert_rows`)."""
    insert_rows(db.session, model, rows, batch=10 * BATCH)


def stamp(day: date, rng: random.Random) -> datetime:
    """A time between 08:00 and 16:59 UTC on the day, drawn from the random generator."""
    return datetime.combine(day, time(rng.randint(8, 16), rng.randint(0, 59)), tzinfo=UTC)


class GeneratorBase:
    """The generator's state: the seeded random generator, the code counters and the tally."""

    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.seed = seed
        self.rng = random.Random(seed)
        self.node_id = str(current_app.config["NODE_ID"])
        self.prefix = current_app.config["PROGRAM_PREFIX"]
        self.node_code = current_app.config["NODE_CODE"]
        self.counters: dict[str, int] = {}
        self.stats: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------------------
    def code(self, *parts: str | int, width: int = 4) -> str:
        prefix = "-".join([self.prefix, *map(str, parts), self.node_code])
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]:0{width}d}"

    def base(self, created: datetime) -> dict[str, Any]:
        return {
            "id": new_id(),
            "created_at": created,
            "updated_at": created,
            "origin_node": self.node_id,
            "version": 1,
            "voided": False,
        }

    def count(self, key: str, n: int) -> None:
        self.stats[key] = self.stats.get(key, 0) + n
