"""CPU time of processes the bench started (the receiver, Prefect's server, a node's JVM).

A process may end while it is read: it then counts nothing, rather than failing the run.
"""

from __future__ import annotations

from collections.abc import Iterable

import psutil


def cpu_of(processes: Iterable[psutil.Process]) -> float:
    """User plus system CPU seconds of ``processes`` so far."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total
