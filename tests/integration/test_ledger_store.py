"""The ledger in a real Prefect server: a decade of stretches, the first form, a lock held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

import db2api.orchestration.ledger_store as ledger_store
from db2api.orchestration.ledger_store import (
    LedgerError,
    change_ledger,
    clear_ledger,
    read_ledger,
    record_delivered,
)
from db2api.orchestration.run_ledger import LedgerRecorder
from db2api.records.journal import Entry
from db2api.records.ledger import Ledger, delivery_key
from db2api.records.ledger_codec import SHARD_PREFIX, index_name
from db2api.records.windows import Window

pytestmark = pytest.mark.usefixtures("prefect_harness")
JOB = "ledger-store"
DAY = timedelta(days=1)


def every_other_day(first: datetime, count: int) -> list[Window]:
    return [Window(first + n * DAY, first + (n + 1) * DAY) for n in range(0, count, 2)]


@pytest.fixture
async def clean() -> AsyncIterator[str]:
    await clear_ledger(JOB)
    yield JOB
    await clear_ledger(JOB)


async def variables(prefix: str) -> dict[str, Any]:
    from prefect import get_client

    async with get_client() as client:
        found = await client.read_variables()
    return {v.name: v.value for v in found if v.name.startswith(prefix)}


async def test_a_decade_of_every_other_day_for_three_targets_is_kept_and_read_back(
    clean: str,
) -> None:
    first = datetime(2015, 1, 1, tzinfo=UTC)
    keys = [delivery_key("fingerprint", f"http://127.0.0.1:92{n:02d}") for n in range(3)]
    for n, key in enumerate(keys):  # each target in two changes, the second filling nothing
        windows = every_other_day(first + 2 * n * DAY, 3653)
        await record_delivered(clean, key, windows[::2], label=f"http://127.0.0.1:92{n:02d} …")
        await record_delivered(clean, key, windows[1::2])
    ledger = await read_ledger(clean)

    assert [len(ledger.by_key[key]) for key in keys] == [1827, 1827, 1827]
    assert len(ledger.delivered) == 1829
    assert ledger.by_key[keys[2]][-1] == (first + 3656 * DAY, first + 3657 * DAY)
    assert ledger.labels[keys[1]] == "http://127.0.0.1:9201 …"
    stored = await variables(f"{SHARD_PREFIX}{clean}-")
    index = (await variables(index_name(clean)))[index_name(clean)]
    current = [
        name for name in stored if name.startswith(f"{SHARD_PREFIX}{clean}-{index['slot']}-")
    ]
    assert len(current) == index["shards"] > 1
    assert len(stored) <= 2 * index["shards"], "two slots taking turns, nothing more"
    assert all(len(orjson.dumps(value)) <= 5000 for value in stored.values())


async def test_a_ledger_in_its_first_form_is_read_and_migrated_by_the_first_change(
    clean: str,
) -> None:
    from prefect.variables import Variable

    first_form = {
        "floor": "2024-01-02T00:00:00Z",
        "delivered": [["2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"]],
        "by_key": {"0123456789ab": [["2024-01-03T00:00:00Z", "2024-01-05T00:00:00Z"]]},
    }
    await Variable.aset(index_name(clean), first_form, overwrite=True)
    before = await read_ledger(clean)
    window = Window(datetime(2024, 1, 9, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC))
    await record_delivered(clean, "0123456789ab", [window], label="http://x bulk index i")
    after = await read_ledger(clean)

    assert before == Ledger.from_json(first_form)
    assert after.floor == before.floor
    assert after.delivered == [*before.delivered, (window.start, window.end)]
    assert after.by_key["0123456789ab"] == [
        *before.by_key["0123456789ab"],
        (window.start, window.end),
    ]
    assert (await variables(index_name(clean)))[index_name(clean)]["format"] == 2
    assert await clear_ledger(clean)
    assert await variables(f"{SHARD_PREFIX}{clean}-") == {}, "--clear leaves no shard behind"


@pytest.fixture
async def held_lock(clean: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Another holder keeps the ledger's lock; changes give up after a second."""
    from prefect import get_client

    from db2api.orchestration.ledger_store import _ensure_lock

    monkeypatch.setattr(ledger_store, "LOCK_TIMEOUT", 1.0)
    name = index_name(clean)
    await _ensure_lock(name)
    async with get_client() as client:
        answer = await client.increment_concurrency_slots_with_lease(
            names=[name], slots=1, mode="concurrency", lease_duration=120
        )
        lease = answer.json()["lease_id"]
        try:
            yield clean
        finally:
            await client.release_concurrency_slots_with_lease(lease_id=lease)


async def test_a_change_that_cannot_take_the_lock_keeps_the_windows_it_was_given(
    held_lock: str,
) -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    recorder = LedgerRecorder(held_lock, "0123456789ab", interval=3600)
    recorder.add(Window(day, day + DAY))
    recorder.add(Window(day + 2 * DAY, day + 3 * DAY))

    with pytest.raises(LedgerError) as caught:
        await change_ledger(held_lock, lambda ledger: None)
    assert str(caught.value) == (
        f"the ledger of job {held_lock!r} stayed locked by another change for 1 s "
        f"(global concurrency limit 'db2api-ledger-{held_lock}')"
    )
    assert await recorder.flush() is None
    assert len(recorder.unrecorded) == 2
    assert recorder.unrecorded_note().startswith(
        "2 windows in [2024-01-01T00:00:00Z, 2024-01-04T00:00:00Z) were delivered but not "
        f"recorded in the ledger of job {held_lock!r} (the ledger of job {held_lock!r} stayed "
        "locked by another change for 1 s"
    )
    assert await read_ledger(held_lock) == Ledger()


async def test_parallel_changes_lose_nothing(clean: str) -> None:
    first = datetime(2020, 1, 1, tzinfo=UTC)
    windows = every_other_day(first, 24)
    await asyncio.gather(*(record_delivered(clean, "k", [w]) for w in windows))

    assert (await read_ledger(clean)).by_key["k"] == [(w.start, w.end) for w in windows]


async def test_journalled_windows_are_folded_in_under_their_own_keys(clean: str) -> None:
    first = datetime(2024, 1, 1, tzinfo=UTC)
    old, new = every_other_day(first, 4)  # 01-01 and 01-03
    journalled = [Entry("old-key", old, "the old target")]

    await record_delivered(clean, "new-key", [new], "the new target", journalled)

    ledger = await read_ledger(clean)
    assert ledger.by_key == {"old-key": [(old.start, old.end)], "new-key": [(new.start, new.end)]}
    assert list(ledger.by_key)[-1] == "new-key", "the run's own key stays the most recent"
    assert ledger.labels == {"old-key": "the old target", "new-key": "the new target"}
