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
from collections.abc import Callable, Iterable
from datetime import datetime
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
from db2api.records.journal import Entry, fold
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
from db2api.records.windows import Window
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
