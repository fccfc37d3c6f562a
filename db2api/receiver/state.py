"""Shared mutable state of one receiver: current faults, their random stream, counters.

Kept out of the handlers' module so the counters' semantics (what is counted, what a
reset keeps) are stated once, next to the data.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from db2api.receiver.faults import Faults
from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp, WriteResult

T = TypeVar("T")
SHORT_SLEEP = 1.0  # seconds; longer sleeps (hangs) end early on shutdown
FAULT_COUNTERS = (
    "429",
    "503",
    "reset",
    "hang",
    "outage",
    "bulk_item_429",
    "bulk_item_400",
    "bulk_item_lost",
    "rule_400",
    "auth",
    "status_override",
    "non_json",
    "index_missing",
    "read_only",
    "no_privileges",
    "data_stream",
)


@dataclass
class Stats:
    """Counters for data requests only, so polling /_stats never disturbs them."""

    requests: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_COUNTERS, 0))
    in_flight: int = 0
    peak_in_flight: int = 0
    docs_written: int = 0
    bulk_items: int = 0

    def reset(self) -> None:
        """Zero the counters; requests still running stay counted in ``in_flight``."""
        self.requests = self.docs_written = self.bulk_items = 0
        self.by_status = {}
        self.faults = dict.fromkeys(FAULT_COUNTERS, 0)
        self.peak_in_flight = self.in_flight

    def to_dict(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, dict) else v for k, v in vars(self).items()}


class ReceiverState:
    """Everything the handlers share; one per application."""

    def __init__(self, store: Store, faults: Faults, clock: Callable[[], float]) -> None:
        self.store = store
        self.stats = Stats()
        self.clock = clock
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receiver-sqlite")
        self.stopping = asyncio.Event()
        self._queued: list[tuple[WriteOp, asyncio.Future[WriteResult]]] = []
        self._committing = False
        self.set_faults(faults)

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; restarts the seeded draws and the outage clock."""
        self.faults = faults
        self.rng = faults.rng()
        self.faults_set_at = self.clock()

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def write_one(self, op: WriteOp) -> WriteResult:
        """Group commit: single-document writes that arrive together share a transaction.

        One thread hand-off and one SQLite transaction per request made the receiver,
        not the client, the limit of item-mode runs. Each request still gets its
        answer only after its own write is committed.
        """
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._queued.append((op, future))
        if not self._committing:
            self._committing = True
            asyncio.get_running_loop().create_task(self._commit_queued())
        return await future

    async def _commit_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                futures = [future for _, future in batch]
                try:
                    results = await self.db(self.store.write, [op for op, _ in batch])
                except Exception as exc:  # the whole transaction rolled back: all of them failed
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for future, result in zip(futures, results, strict=True):
                    if not future.done():  # its request may have been cancelled meanwhile
                        future.set_result(result)
        finally:
            self._committing = False

    async def sleep(self, seconds: float) -> None:
        """Sleep that ends early on shutdown, so a hanging request never delays exit."""
        if seconds <= 0 or self.stopping.is_set():
            return
        if seconds <= SHORT_SLEEP:  # added latency: cheap, and over before shutdown notices
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)


STATE = web.AppKey("receiver_state", ReceiverState)  # where the app keeps its one state
