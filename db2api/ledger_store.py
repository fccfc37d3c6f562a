"""The ledger in the Prefect server: one Variable per job, changed under a global lock.

Every worker and machine of a deployment talks to the same Prefect server, so the
ledger lives there: the Variable ``db2api-ledger-<job>`` (visible in the UI under
Variables). Parts of a backfill finish in any order and at the same time, so each
change reads, merges and writes the Variable while holding a slot of the global
concurrency limit ``db2api-ledger-<job>`` (limit 1, created on first use). Its
lease expires if a holder dies, so a crashed run never blocks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime

import orjson

from db2api.job import Job
from db2api.ledger import Ledger, moment
from db2api.windows import Window, to_moment, zone

LEGACY = "db2api-watermark-{job}"  # the watermark before the ledger: read as its floor
LOCK_TIMEOUT = 120.0


def variable_name(job: str) -> str:
    return f"db2api-ledger-{job}"


def origin(job: Job) -> datetime | None:
    """Where the job's gap-free history must start for a watermark to exist."""
    return to_moment(job.first_start, zone(job.timezone)) if job.first_start else None


async def read_ledger(job: str) -> Ledger:
    from prefect.variables import Variable

    value = await Variable.aget(variable_name(job), default=None)
    if value is not None:
        return Ledger.from_json(value)
    legacy = await Variable.aget(LEGACY.format(job=job), default=None)
    return Ledger(floor=moment(str(legacy))) if legacy else Ledger()


async def _ensure_lock(name: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another worker was first
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )


async def change_ledger(job: str, change: Callable[[Ledger], None]) -> Ledger:
    """Read, change and write the job's ledger while no one else does."""
    from prefect.concurrency.asyncio import concurrency
    from prefect.variables import Variable

    name = variable_name(job)
    await _ensure_lock(name)
    async with concurrency(name, occupy=1, timeout_seconds=LOCK_TIMEOUT, strict=True):
        ledger = await read_ledger(job)
        change(ledger)
        value = orjson.loads(ledger.to_json())  # a JSON object, readable in the UI
        await Variable.aset(name, value, overwrite=True, tags=["db2api", "ledger"])
    return ledger


async def record_delivered(job: str, key: str, windows: Iterable[Window]) -> Ledger:
    done = list(windows)
    return await change_ledger(job, lambda ledger: ledger.record(key, done))


async def read_watermark(job: Job) -> datetime | None:
    return (await read_ledger(job.name)).watermark(origin(job))


async def set_watermark(job: str, moment_: datetime) -> Ledger:
    return await change_ledger(job, lambda ledger: ledger.set_watermark(moment_))


async def clear_ledger(job: str) -> bool:
    """Forget everything delivered (the next run starts at ``first_start``)."""
    from prefect.variables import Variable

    cleared = bool(await Variable.aunset(variable_name(job)))
    return bool(await Variable.aunset(LEGACY.format(job=job))) or cleared


class LedgerRecorder:
    """Records delivered windows in batches, in the background, one ledger change at a time.

    A year of daily windows costs a few ledger changes, not 365, and no window waits
    for one: a change takes the job's lock on the server, which can take seconds
    while another change (of this run or another) holds it, and windows that queued
    behind it stalled the whole run. A change that fails keeps its windows for the
    next; :meth:`flush`, when the run ends, records the rest and raises if it cannot.
    Windows not recorded when a run dies are sent again by the next run (ids make
    that idempotent).
    """

    def __init__(self, job: str, key: str, interval: float = 2.0) -> None:
        self.job = job
        self.key = key
        self.interval = interval
        self.pending: list[Window] = []
        self.next_flush = time.monotonic() + interval
        self.ledger: Ledger | None = None
        self._writing: asyncio.Task[None] | None = None

    def add(self, window: Window) -> None:
        self.pending.append(window)
        if time.monotonic() >= self.next_flush and self._writing is None:
            self._writing = asyncio.create_task(self._write_in_background())

    async def _write_in_background(self) -> None:
        done, self.pending = self.pending, []
        try:
            self.ledger = await record_delivered(self.job, self.key, done)
        except Exception:
            self.pending[:0] = done  # :meth:`flush` tries again, and raises if it fails
        finally:
            self.next_flush = time.monotonic() + self.interval
            self._writing = None

    async def flush(self) -> Ledger | None:
        """Record every window added so far; the ledger as last written (None: never)."""
        if self._writing is not None:
            await self._writing
        if self.pending:
            done, self.pending = self.pending, []
            self.ledger = await record_delivered(self.job, self.key, done)
        return self.ledger
