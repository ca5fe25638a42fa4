"""Rows of an export's query, read in batches from a streaming cursor.

``stream_results`` gives a named cursor on PostgreSQL (SQLite steps its cursor lazily), so
memory stays flat whatever the size; on PostgreSQL a reader thread fetches the next batches
while the previous ones are written. :func:`raw_select` makes a query return the database's own
values, for writers that turn them into text themselves (:mod:`.csv_format`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, type_coerce
from sqlalchemy.types import NullType

from fieldapp.extensions import db

BATCH = 2000  # rows fetched from the cursor, and written, at a time


def read_batches(stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` in batches from a streaming cursor on a connection of its own.

    On PostgreSQL the batches are read by a thread of their own (:func:`_read_ahead`): the
    server finds and sends the next rows while this process writes the previous ones, instead
    of each waiting for the other.
    """
    engine = db.engine
    if engine.dialect.name == "postgresql":
        yield from _read_ahead(engine, stmt)
        return
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
        yield from result.partitions(BATCH)


def _read_ahead(engine: Any, stmt: Select[Any], depth: int = 2) -> Iterator[Sequence[Any]]:
    """Batches of ``stmt`` read by a reader thread at most ``depth`` batches ahead.

    Memory stays flat (at most ``depth`` batches wait); an error in the reader is raised here;
    a consumer that stops early (a client gone mid-download) stops the reader and closes its
    connection.
    """
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, max_row_buffer=BATCH).execute(stmt)
                for batch in result.partitions(BATCH):
                    if not offer(batch):
                        return
        except Exception as exc:  # handed to the consumer, which raises it
            offer(exc)
        else:
            offer(done)

    reader = threading.Thread(target=read, name="export-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=30)


def read_rows(stmt: Select[Any]) -> Iterator[Any]:
    """The rows of ``stmt`` one by one, read in batches by :func:`read_batches`."""
    return (row for batch in read_batches(stmt) for row in batch)


def raw_select(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` returning the database's own values: no per-value conversion in Python."""
    return stmt.with_only_columns(
        *[type_coerce(c, NullType()).label(c.name) for c in stmt.selected_columns],
        maintain_column_froms=True,
    )
