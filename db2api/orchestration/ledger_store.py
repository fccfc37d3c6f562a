"""The ledger in the Prefect server: an index Variable and its shards, changed under a lock.

Every worker and machine of a deployment talks to the same Prefect server, so the
ledger lives there: the Variable ``db2api-ledger-<job>`` (visible in the UI under
Variables) and the shards it names (:mod:`db2api.records.ledger_codec`), so it has no
size limit. Parts of a backfill finish in any order and at the same time, so each
change reads, merges and writes while holding a slot of the global concurrency
limit ``db2api-ledger-<job>`` (limit 1, created on first use). Its lease expires
if a holder dies, so a crashed run never blocks the others. A ledger in its first
form (one Variable of ISO intervals) is read as it is and rewritten as an index
and shards by the first change.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prefect import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    VariableCreate,
    VariableUpdate,
)
from prefect.client.schemas.filters import VariableFilter, VariableFilterName
from prefect.concurrency.asyncio import (
    AcquireConcurrencySlotTimeoutError,
    ConcurrencySlotAcquisitionError,
    concurrency,
)
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from db2api.errors import Db2apiError
from db2api.job import Job
from db2api.log import run_logger
from db2api.records.deadletters import dead_letter_folder
from db2api.records.journal import Entry, Journal, fold, journal_folder
from db2api.records.ledger import Ledger, moment
from db2api.records.ledger_codec import (
    SLOTS,
    index_name,
    is_packed,
    is_shard_of,
    is_whole,
    pack,
    shard_name,
    unpack,
)
from db2api.records.windows import Window, iso
from db2api.run.transfer import origin

LEGACY = "db2api-watermark-{job}"  # the watermark before the ledger: read as its floor
LOCK_TIMEOUT = 120.0
READ_TRIES = 5  # a reader that meets a change half-way reads again
TAGS = ["db2api", "ledger"]


class LedgerError(Db2apiError):
    """The ledger in the Prefect server could not be read or changed."""


def variable_name(job: str) -> str:
    return index_name(job)


async def _value(client: Any, name: str) -> Any:
    variable = await client.read_variable_by_name(name)
    return None if variable is None else variable.value


async def _read(client: Any, job: str) -> tuple[Ledger, dict[str, Any] | None]:
    """The ledger and the index it was read through (None: no index yet)."""
    for _ in range(READ_TRIES):
        index = await _value(client, index_name(job))
        if index is None:
            legacy = await _value(client, LEGACY.format(job=job))
            return (Ledger(floor=moment(str(legacy))) if legacy else Ledger()), None
        if not is_packed(index):
            return Ledger.from_json(index), None  # the first form: migrated by the next change
        names = [shard_name(job, index["slot"], n) for n in range(int(index["shards"]))]
        shards = list(await asyncio.gather(*(_value(client, name) for name in names)))
        if is_whole(index, shards):
            return unpack(index, shards), index
    raise LedgerError(
        f"the ledger of job {job!r} kept changing while it was read ({READ_TRIES} tries): try again"
    )


async def read_ledger(job: str) -> Ledger:
    async with get_client() as client:
        ledger, _ = await _read(client, job)
    return ledger


async def _write(client: Any, name: str, value: Any) -> None:
    """Update the Variable, or create it: one call either way once the slots exist."""
    try:
        await client.update_variable(VariableUpdate(name=name, value=value, tags=TAGS))
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
        await client.create_variable(VariableCreate(name=name, value=value, tags=TAGS))


async def _delete(client: Any, names: Iterable[str]) -> None:
    async def delete(name: str) -> None:
        with contextlib.suppress(ObjectNotFound):
            await client.delete_variable_by_name(name)

    await asyncio.gather(*(delete(name) for name in names))


async def _store(client: Any, job: str, ledger: Ledger, old: dict[str, Any] | None) -> None:
    """Write the shards into the free slot, then the index that points at them."""
    slot = SLOTS[1] if old is not None and old.get("slot") == SLOTS[0] else SLOTS[0]
    packed = pack(ledger, slot)
    if old is not None and old.get("generation") == packed.generation:
        return  # nothing changed
    sizes = dict(old.get("sizes") or {}) if old is not None else {}
    names = [shard_name(job, slot, n) for n in range(len(packed.shards))]
    await asyncio.gather(*(_write(client, n, s) for n, s in zip(names, packed.shards, strict=True)))
    await _write(client, index_name(job), {**packed.index, "sizes": {**sizes, slot: len(names)}})
    surplus = range(len(names), int(sizes.get(slot, 0)))  # the slot held more shards before
    await _delete(client, [shard_name(job, slot, n) for n in surplus])


_LOCKS: set[str] = set()  # locks this process created or saw: no look-up per change


async def _ensure_lock(name: str) -> None:
    """Create the job's lock on first use (a deleted lock is recreated by a new process)."""
    if name in _LOCKS:
        return
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another worker was first
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )
    _LOCKS.add(name)


async def change_ledger(job: str, change: Callable[[Ledger], None]) -> Ledger:
    """Read, change and write the job's ledger while no one else does."""
    name = variable_name(job)
    await _ensure_lock(name)
    try:
        return await _change(job, name, change)
    except ConcurrencySlotAcquisitionError:  # the lock was deleted since: create it again
        _LOCKS.discard(name)
        await _ensure_lock(name)
        return await _change(job, name, change)


async def _change(job: str, name: str, change: Callable[[Ledger], None]) -> Ledger:
    lock = concurrency(name, occupy=1, timeout_seconds=LOCK_TIMEOUT, strict=True)
    try:
        async with lock, get_client() as client:
            ledger, index = await _read(client, job)
            change(ledger)
            await _store(client, job, ledger, index)
    except AcquireConcurrencySlotTimeoutError as exc:
        raise LedgerError(
            f"the ledger of job {job!r} stayed locked by another change for {LOCK_TIMEOUT:g} s "
            f"(global concurrency limit {name!r})"
        ) from exc
    return ledger


async def record_delivered(
    job: str, key: str, windows: Iterable[Window], label: str = "", journalled: Iterable[Entry] = ()
) -> Ledger:
    """Record windows delivered under ``key``, and ``journalled`` ones under their own keys."""
    done, earlier = list(windows), list(journalled)

    def change(ledger: Ledger) -> None:
        fold(ledger, earlier)  # first: the run's own key stays the most recent
        if done:
            ledger.record(key, done, label)

    return await change_ledger(job, change)


async def read_watermark(job: Job, key: str | None = None) -> datetime | None:
    """The job's watermark, or that of one delivery key (what a run plans from)."""
    return (await read_ledger(job.name)).watermark(origin(job), key)


async def set_watermark(job: str, moment_: datetime) -> Ledger:
    return await change_ledger(job, lambda ledger: ledger.set_watermark(moment_))


async def clear_ledger(job: str) -> bool:
    """Forget everything delivered (the next run starts at ``first_start``)."""
    like = VariableFilter(name=VariableFilterName(like_=f"{shard_name(job, '', 0)[:-2]}%"))
    query = {"variables": like.model_dump(mode="json", exclude_none=True)}
    async with get_client() as client:
        names = [index_name(job), LEGACY.format(job=job)]
        present = [name for name in names if await _value(client, name) is not None]
        await _delete(client, present)
        cleared = bool(present)
        while True:  # the shards of both slots
            found = (await client.request("POST", "/variables/filter", json=query)).json()
            shards = [v["name"] for v in found if is_shard_of(v["name"], job)]
            if not shards:
                return cleared
            await _delete(client, shards)
            cleared = True


class LedgerRecorder:
    """Records delivered windows in batches, in the background, one ledger change at a time.

    A year of daily windows costs a few ledger changes, not 365, and no window waits
    for one: a change takes the job's lock on the server, which can take seconds
    while another change (of this run or another) holds it, and windows that queued
    behind it stalled the whole run. A change that fails keeps its windows for the
    next; :meth:`flush`, when the run ends, records the rest, and if that fails too
    keeps them in :attr:`unrecorded` with the reason: the run then fails saying which
    windows were delivered but not recorded (:meth:`unrecorded_note`).

    With a ``journal`` (:mod:`db2api.records.journal`) every window is written there the
    moment it is added, and the first change also folds in the windows of runs that ended
    before recording theirs: a run that dies loses no delivered window, and one whose last
    change failed leaves its windows for the next run on this machine. Without one, windows
    not recorded are sent again by the next run that covers them (ids make that idempotent).
    """

    def __init__(
        self,
        job: str,
        key: str,
        interval: float = 2.0,
        label: str = "",
        journal: Journal | None = None,
    ) -> None:
        self.job = job
        self.key = key
        self.label = label
        self.interval = interval
        self.journal = journal
        self.pending: list[Window] = []
        self.in_flight: list[Window] = []  # the change being written now
        self.next_flush = time.monotonic() + interval
        self.ledger: Ledger | None = None
        self.unrecorded: list[Window] = []
        self.reason = ""
        self.kept: Path | None = None  # the journal file that keeps the unrecorded windows
        self._writing: asyncio.Task[None] | None = None
        self.held = False  # the last windows are running: their change is the final one
        self._sleeping = False  # the background change waits for its interval
        self._journal_broken = False

    def add(self, window: Window) -> None:
        self.pending.append(window)
        self._schedule()

    def write_ahead(self, window: Window) -> None:
        """Journal a delivered window before the run moves on (it is not in the ledger yet)."""
        if self.journal is None or self._journal_broken:
            return
        try:
            self.journal.append(Entry(self.key, window, self.label))
        except OSError as exc:
            self._journal_broken = True
            run_logger().warning(
                f"the journal in {self.journal.folder} cannot be written "
                f"({exc.strerror or type(exc).__name__}): delivered windows are recorded by "
                "the ledger's next change only, and sent again if this run dies before it"
            )

    def _schedule(self) -> None:
        """A change for what is pending, once ``interval`` has passed since the last one.

        Even if no window ends after it: a run killed later has its delivered windows
        in the ledger, and the next run skips them on any machine.
        """
        if self.held or self._writing is not None or not self.pending:
            return
        delay = max(0.0, self.next_flush - time.monotonic())
        self._sleeping = delay > 0  # until it starts writing, hold() may cancel it
        self._writing = asyncio.create_task(self._write_in_background(delay))

    async def _record(self) -> None:
        done, self.pending = self.pending, []
        earlier = list(self.journal.claimed) if self.journal is not None else []
        self.in_flight = done
        try:
            if earlier:
                ledger = await record_delivered(self.job, self.key, done, self.label, earlier)
            else:
                ledger = await record_delivered(self.job, self.key, done, self.label)
        except Exception as exc:
            self.pending[:0] = done  # the next change records them
            self.reason = str(exc) or type(exc).__name__
            raise
        finally:
            self.in_flight = []
        self.ledger = ledger
        if earlier and self.journal is not None:
            self.journal.forget_claimed()

    async def _write_in_background(self, delay: float) -> None:
        written = False
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            self._sleeping = False
            await self._record()
            written = True
        except Exception:
            pass  # kept in ``pending``: the next add or :meth:`flush` tries again
        finally:
            self._sleeping = False
            self.next_flush = time.monotonic() + self.interval
            self._writing = None
            if written:
                self._schedule()  # windows added while it wrote

    def hold(self) -> None:
        """Start no more background changes: :meth:`flush` writes the rest in one.

        Called once every window left is running: a change started now would still be
        in flight when they end, and the run would wait for it and then for one more.
        """
        self.held = True
        if self._writing is not None and self._sleeping:  # not writing yet: merge it
            self._writing.cancel()
            self._writing = None
            self._sleeping = False

    async def flush(self) -> Ledger | None:
        """Record every window added so far; the ledger as last written (None: never).

        Never raises: what it could not record is left in :attr:`unrecorded`.
        """
        self.hold()
        if self._writing is not None:
            await self._writing
        if self.pending or (self.journal is not None and self.journal.claimed):
            try:
                await self._record()
            except Exception:
                self.unrecorded, self.pending = self.pending, []
        if self.journal is not None:
            self.kept = self.journal.close(recorded=not self.unrecorded)
        return self.ledger

    def waiting(self) -> int:
        """Windows added but not recorded yet: what :meth:`flush` still has to write."""
        return len(self.pending) + len(self.in_flight)

    def unrecorded_note(self) -> str:
        """One line: how many windows, which range, why, and what to do ("": none)."""
        if not self.unrecorded:
            return ""
        first = min(w.start for w in self.unrecorded)
        last = max(w.end for w in self.unrecorded)
        what = (
            f"{len(self.unrecorded)} windows in [{iso(first)}, {iso(last)}) were delivered but "
            f"not recorded in the ledger of job {self.job!r} ({self.reason})"
        )
        command = f"`db2api run {self.job} --start {iso(first)} --end {iso(last)}`"
        if self.kept is not None:
            return (
                f"{what}: the journal {self.kept} keeps them, and the next run of the job on this "
                f"machine records them without sending them again (e.g. {command} once the "
                "ledger is free again)"
            )
        return (
            f"{what}: run {command} once the ledger is free again to record them (their "
            "documents are sent again under the same ids)"
        )


class ServerLedger(LedgerRecorder):
    """The ledger in the Prefect server as the transfer loop uses it (``RunLedger``).

    Read once when the run starts, with this machine's journal of windows delivered but
    not recorded yet (:mod:`db2api.records.journal`, beside the job's dead letters): the
    run skips those as it skips the ledger's. Each delivered window is journalled at once,
    recorded in the ledger in the background every ``interval`` seconds, and the last
    windows in one change.
    """

    def __init__(self, job: Job, key: str, label: str = "") -> None:
        journal = Journal(journal_folder(dead_letter_folder(job)))
        super().__init__(job.name, key, label=label, journal=journal)
        self.read_ledger = Ledger()

    async def read(self) -> Ledger:
        ledger = await read_ledger(self.job)
        if self.journal is not None:
            fold(ledger, self.journal.read())
        self.read_ledger = ledger
        return ledger

    def is_delivered(self, window: Window) -> bool:
        return self.read_ledger.is_delivered(self.key, window)

    def add(self, window: Window) -> None:
        if not self.is_delivered(window):  # skipped or forced: already in the ledger
            self.write_ahead(window)
        super().add(window)
