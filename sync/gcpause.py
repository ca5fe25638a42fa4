"""Python's cyclic garbage collector, held while a sync page is parsed and applied.

A page is thousands of small objects (parsed JSON, parameters, change entries) that live until
the page is done and then go by reference counting: the collector would only walk them, and as
they outlive its young generations every long-lived object of the process, again and again for
nothing (a quarter of central's CPU for an initial push, a tenth of a node's for a pull).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """Hold the collector for the block. Nested and concurrent pauses (a worker's threads, the
    node's thread fetching the next page) share one count: the collector comes back, as it was
    before the first (left off if something else had turned it off), when the last one ends."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
