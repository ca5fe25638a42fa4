"""Batch printing: many agreements into one PDF, streamed part by part.

Agreements are read from the database and rendered in parts of ``chunk`` agreements; each part
is appended to the output as soon as it is ready (:class:`PdfStreamWriter`), so memory does not
grow with the batch. With ``jobs`` > 1 the parts are rendered by that many worker processes
(the CLI and benchmarks use both cores); the order of the output never changes.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from fieldapp.printing.agreement_pdf import write_agreements
from fieldapp.printing.data import AgreementPrint
from fieldapp.printing.layout import TextCache, styles
from fieldapp.printing.stream import PdfStreamWriter

CHUNK = 40


class _Spool(io.RawIOBase):
    """A write-only buffer whose content is taken away after each part."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


_worker_caches: dict[str, TextCache] = {}


def render_part(prints: Sequence[AgreementPrint], labels: Mapping[str, Any],
                fixed: TextCache | None = None) -> bytes:
    """One part of a batch as a standalone PDF (also run in worker processes)."""
    if fixed is None:
        # A worker keeps one cache per language for all the parts it renders.
        key = f"{labels['_lang']}|{labels['_program']}"
        fixed = _worker_caches.get(key)
        if fixed is None:
            fixed = _worker_caches[key] = TextCache(styles())
    out = io.BytesIO()
    write_agreements(prints, labels, out, fixed)
    return out.getvalue()


def auto_jobs() -> int:
    """Worker processes worth starting here: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def iter_batch_pdf(ids: Sequence[Any], labels: Mapping[str, Any], chunk: int = CHUNK,
                   jobs: int = 1, stats: dict[str, int] | None = None) -> Iterator[bytes]:
    """Yield one PDF holding the agreements ``ids`` (in that order), a part at a time.

    Needs an application context (it reads the database). Each agreement starts on a new page
    and numbers its own pages.

    :param jobs: worker processes rendering parts; 1 renders in this process.
    :param stats: filled with ``agreements`` and ``pages`` as the batch goes.
    """
    from fieldapp.printing.queries import iter_agreement_prints  # the database side only

    stats = stats if stats is not None else {}
    stats.update(agreements=0, pages=0)
    spool = _Spool()
    writer = PdfStreamWriter(spool, title=str(labels["title"]), author=str(labels["_program"]))
    yield spool.take()
    parts = iter_agreement_prints(ids, chunk)
    if jobs <= 1:
        fixed = TextCache(styles())
        for prints in parts:
            stats["pages"] += writer.append(render_part(prints, labels, fixed))
            stats["agreements"] += len(prints)
            yield spool.take()
    else:
        context = multiprocessing.get_context("spawn")  # no copy of the app, its DB or locks
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            pending: deque[tuple[int, Future[bytes]]] = deque()
            for prints in parts:
                pending.append((len(prints), pool.submit(render_part, prints, dict(labels))))
                # A few parts in flight keep every worker busy; more would only use memory.
                while len(pending) > jobs + 1:
                    yield from _drain_one(pending, writer, spool, stats)
            while pending:
                yield from _drain_one(pending, writer, spool, stats)
    writer.close()
    yield spool.take()


def _drain_one(pending: deque[tuple[int, Future[bytes]]], writer: PdfStreamWriter,
               spool: _Spool, stats: dict[str, int]) -> Iterator[bytes]:
    count, future = pending.popleft()
    stats["pages"] += writer.append(future.result())
    stats["agreements"] += count
    yield spool.take()
