"""The transfer loop's pieces without a Prefect server: a ledger in memory, progress in the log.

:func:`db2api.run.window.transfer_range` (tests, the bench's plain contestants,
embedding) runs the same loop as the ``transfer`` flow with these; the flow passes
the Variable ledger and the progress artifact instead.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from db2api.job import Job
from db2api.records.ledger import Ledger
from db2api.records.windows import Window
from db2api.run.report import RunSummary, WindowReport


class MemoryLedger:
    """A ledger that lives as long as the object: shared by runs that share it.

    A fresh one per run (what :func:`transfer_range` uses) skips nothing; pass one
    ``Ledger`` to several runs to have the later ones skip what the earlier delivered.
    It keeps no journal (:mod:`db2api.records.journal`): nothing of it outlives the process.
    """

    def __init__(self, job: Job, key: str, label: str = "", ledger: Ledger | None = None) -> None:
        self.job = job.name
        self.key = key
        self.label = label
        self.ledger = ledger if ledger is not None else Ledger()
        self.pending: list[Window] = []

    async def read(self) -> Ledger:
        return self.ledger

    def is_delivered(self, window: Window) -> bool:
        return self.ledger.is_delivered(self.key, window)

    def add(self, window: Window) -> None:
        self.pending.append(window)

    def hold(self) -> None:
        return None  # every add is kept until flush anyway

    async def flush(self) -> Ledger | None:
        if self.pending:
            self.ledger.record(self.key, self.pending, self.label)
            self.pending = []
        return self.ledger

    def waiting(self) -> int:
        return len(self.pending)

    def unrecorded_note(self) -> str:
        return ""  # memory does not refuse a write


class LogProgress:
    """A log line per finished window, at most one per ``interval`` (failures always)."""

    def __init__(self, total: int, logger: Any, interval: float = 2.0) -> None:
        self.total = total
        self.done = 0
        self.logger: logging.Logger = logger
        self.interval = interval
        self.next_update = time.monotonic()

    @classmethod
    async def start(cls, job: str, total: int, logger: Any) -> LogProgress:
        return cls(total, logger)

    def update(self, report: WindowReport) -> None:
        self.done += 1
        now = time.monotonic()
        if now < self.next_update and not report.error and self.done != self.total:
            return
        self.next_update = now + self.interval
        self.logger.info(f"[{self.done:,}/{self.total:,} windows] {report.line()}")

    async def tick(self, line: str) -> None:
        self.logger.info(f"[{self.done:,}/{self.total:,} windows] {line}")

    async def finish(self, summary: RunSummary) -> None:
        return None  # the loop logs the summary's headline
