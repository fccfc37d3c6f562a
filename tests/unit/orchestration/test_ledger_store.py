"""Recording delivered windows in the background: no window waits for the ledger's lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

import db2api.orchestration.ledger_store as ledger_store
from db2api.orchestration.ledger_store import LedgerRecorder
from db2api.records.ledger import Ledger
from db2api.records.windows import Window

DAY = timedelta(days=1)


def day(number: int) -> Window:
    start = datetime(2024, 1, 1, tzinfo=UTC) + number * DAY
    return Window(start, start + DAY)


class SlowLedger:
    """Stands in for the server's ledger change: slow, and failing when told to."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.changes: list[list[Window]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail_next = 0  # how many changes to fail

    async def record(self, job: str, key: str, windows: list[Window], label: str = "") -> Ledger:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.release.wait()
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("503 database is locked")
            self.changes.append(list(windows))
            return Ledger()
        finally:
            self.in_flight -= 1


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> SlowLedger:
    fake = SlowLedger()
    monkeypatch.setattr(ledger_store, "record_delivered", fake.record)
    return fake


async def test_windows_are_added_while_a_change_waits_for_the_lock(slow: SlowLedger) -> None:
    recorder = LedgerRecorder("job", "key", interval=0)
    for number in range(5):
        recorder.add(day(number))  # returns at once, though the first change is stuck
        await asyncio.sleep(0)
    assert slow.in_flight == 1, "one change at a time"
    slow.release.set()
    await recorder.flush()
    assert slow.most_in_flight == 1
    recorded = [window for change in slow.changes for window in change]
    assert recorded == [day(number) for number in range(5)]


async def test_a_failed_background_change_is_recorded_at_the_end(slow: SlowLedger) -> None:
    recorder = LedgerRecorder("job", "key", interval=0)
    slow.fail_next = 1
    slow.release.set()
    recorder.add(day(0))
    await asyncio.sleep(0.01)  # the change fails in the background
    assert slow.changes == []
    recorder.add(day(1))
    await recorder.flush()
    recorded = sorted(window.start for change in slow.changes for window in change)
    assert recorded == [day(0).start, day(1).start], "nothing delivered is left unrecorded"


async def test_windows_the_last_change_could_not_record_are_named_in_one_line(
    slow: SlowLedger,
) -> None:
    recorder = LedgerRecorder("demo", "key", interval=0)
    slow.fail_next = 3  # both changes in the background, then the final one
    slow.release.set()
    recorder.add(day(3))
    await asyncio.sleep(0.01)
    recorder.add(day(0))
    recorder.add(day(5))
    assert await recorder.flush() is None, "never raises: the run reports it"

    assert slow.changes == []
    assert recorder.unrecorded == [day(3), day(0), day(5)], "none dropped"
    assert recorder.unrecorded_note() == (
        "3 windows in [2024-01-01T00:00:00Z, 2024-01-07T00:00:00Z) were delivered but not "
        "recorded in the ledger of job 'demo' (503 database is locked): run `db2api run demo "
        "--start 2024-01-01T00:00:00Z --end 2024-01-07T00:00:00Z` once the ledger is free again "
        "to record them (their documents are sent again under the same ids)"
    )


async def test_nothing_to_say_when_everything_was_recorded(slow: SlowLedger) -> None:
    recorder = LedgerRecorder("demo", "key", interval=3600)
    slow.release.set()
    recorder.add(day(0))
    await recorder.flush()
    assert recorder.unrecorded == [] and recorder.unrecorded_note() == ""


async def test_a_window_is_recorded_once_the_interval_passes_with_no_window_after_it(
    slow: SlowLedger,
) -> None:
    """A run killed later must find it in the ledger: nothing else remembers it."""
    recorder = LedgerRecorder("job", "key", interval=0.05)
    slow.release.set()
    await asyncio.sleep(0.06)
    recorder.add(day(0))  # the first change, at once
    await asyncio.sleep(0.01)
    recorder.add(day(1))  # within the interval: waits for it, then goes alone
    await asyncio.sleep(0.2)
    assert slow.changes == [[day(0)], [day(1)]]


async def test_the_last_windows_wait_for_one_final_change(slow: SlowLedger) -> None:
    """Once every window left is running, their change is the flush's: one, not two."""
    recorder = LedgerRecorder("job", "key", interval=0.05)
    slow.release.set()
    await asyncio.sleep(0.06)
    recorder.add(day(0))
    await asyncio.sleep(0.01)
    recorder.add(day(1))  # its change waits for the interval ...
    recorder.hold()  # ... and is dropped: the flush takes it
    recorder.add(day(2))
    await asyncio.sleep(0.2)
    assert slow.changes == [[day(0)]]
    await recorder.flush()
    assert slow.changes == [[day(0)], [day(1), day(2)]]
