"""Full garbage collections skip the heap a run starts with.

CPython's collector walks every tracked object in a full collection, and a run
moves documents through memory fast enough to trigger one every few chunks, so
the cost of a run's collections is (documents moved) x (objects on the heap).
Under Prefect the heap holds ~150,000 long-lived objects before the first
window (its modules, pydantic schemas, settings; the plain path ~40,000): each
full collection took ~80 ms, ~0.65 s of client CPU per 200,000 rows, against
~0.15 s without Prefect (``bench/``, P4). Frozen (:func:`gc.freeze`), those
objects are left out of every collection until the run ends, when
:func:`gc.unfreeze` hands them back: garbage among them is collected then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_runs = 0  # runs of this process going on (the flow's tests run some at once)
_lock = threading.Lock()  # runs on event loops in other threads count too


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze what is on the heap now; unfreeze when the last run going on ends."""
    global _runs
    with _lock:
        _runs += 1
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if not _runs:
                gc.unfreeze()
