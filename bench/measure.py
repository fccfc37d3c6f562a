"""What a contestant reports, and how its memory and CPU are read.

Peak RSS comes from ``VmHWM`` in ``/proc/self/status``: the high-water mark of
this process's own address space. ``ru_maxrss`` is not used because Linux carries
it across ``execve`` from the parent's address space (vfork/posix_spawn), so a
fresh subprocess would inherit the orchestrator's peak.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from db2api.job import Job
    from db2api.run.report import RunSummary


class BenchError(Exception):
    """A contestant did not deliver what it was asked to: its numbers are not comparable."""


@dataclass
class Measurement:
    docs: int
    seconds: float
    cpu_seconds: float  # this process only, all threads, during the timed part
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Args:
    """What the orchestrator tells a contestant: where to send and how much."""

    url: str
    docs: int
    prefect_url: str = ""
    engine: str = ""  # opensearch or elasticsearch: a real node at url; empty: the receiver


def status_mib(name: str) -> float:
    """A ``VmXXX`` line of /proc/self/status in MiB (falls back to ru_maxrss)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{name}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    """Wall and CPU seconds of a ``with`` block (setup outside it is not counted)."""

    seconds = 0.0
    cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = cpu_seconds() - self._cpu


def timed(work: Callable[[], int]) -> Measurement:
    """Run ``work`` (which returns the documents it moved) and time it."""
    with Stopwatch() as watch:
        docs = work()
    return Measurement(docs, watch.seconds, watch.cpu)


def timed_transfer(
    job: Job, start: datetime, end: datetime, expected: int, dry_run: bool = False
) -> Measurement:
    """Time db2api's plain-function pipeline over ``[start, end)``, checked for losses.

    A dry run is checked the same way: every document counted as it would be sent.
    """
    import asyncio

    from db2api.run.window import transfer_range  # imported here: recipe runs never load it

    summary: RunSummary | None = None

    def work() -> int:
        nonlocal summary
        summary = asyncio.run(transfer_range(job, start, end, label="bench", dry_run=dry_run))
        return int(summary.total("acked"))

    measurement = timed(work)
    assert summary is not None
    measurement.extra = check_summary(summary, expected)
    return measurement


def check_summary(summary: RunSummary, expected: int) -> dict[str, Any]:
    """Refuse a run that lost or rejected documents; return its counters for the report."""
    acked = summary.total("acked")
    if not summary.ok or acked != expected:
        raise BenchError(
            f"{summary.job}: {acked:,} of {expected:,} documents acknowledged, "
            f"{summary.total('dead')} dead letters, {len(summary.failed)} failed windows, "
            f"fatal {summary.fatal or 'none'}"
        )
    return {
        "windows": len(summary.windows),
        "requests": summary.total("requests"),
        "retries": summary.total("retries"),
    }
