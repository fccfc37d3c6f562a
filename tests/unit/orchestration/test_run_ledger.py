"""Recording delivered windows in the background: no window waits for the ledger's lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import db2api.orchestration.run_ledger as run_ledger
from db2api.job import Job
from db2api.orchestration.run_ledger import LedgerRecorder, ServerLedger
from db2api.records.journal import Entry, Journal
from db2api.records.ledger import Ledger
from db2api.records.windows import Window
from tests.support.jobs import unit_job

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
        self.folded: list[list[Entry]] = []  # per change: the journalled windows it folded in

    async def record(
        self, job: str, key: str, windows: list[Window], label: str = "", journalled: Any = ()
    ) -> Ledger:
        self.folded.append(list(journalled))
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
    monkeypatch.setattr(run_ledger, "record_delivered", fake.record)
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


# The journal: each window written down at once, folded into the ledger by a later change.


def journal_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Job:
    monkeypatch.setenv("DB2API_DEAD_LETTER_DIR", str(tmp_path / "dead-letters"))
    return unit_job(name="demo")


def journal_of(tmp_path: Path) -> Path:
    return tmp_path / "dead-letters" / "demo" / "_journal"


def journal_files(tmp_path: Path) -> list[Path]:
    return sorted(journal_of(tmp_path).glob("*.jsonl"))


def journalled(tmp_path: Path) -> list[Window]:
    found = Journal(journal_of(tmp_path)).read()
    return sorted(item.window for item in found)


@pytest.fixture
def server_ledger(monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """What the Prefect server's ledger holds: read by ServerLedger.read."""
    held = Ledger()

    async def read_ledger(job: str) -> Ledger:
        copy = Ledger()
        for key, spans in held.by_key.items():
            copy.record(key, [Window(s, e) for s, e in spans])
        return copy

    monkeypatch.setattr(run_ledger, "read_ledger", read_ledger)
    return held


async def test_each_window_is_journalled_when_added_before_any_change(
    slow: SlowLedger, server_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = ServerLedger(journal_job(tmp_path, monkeypatch), "key", "the target")
    await book.read()
    book.add(day(0))
    book.add(day(1))  # the first change is still waiting for the server

    assert slow.changes == [] and journalled(tmp_path) == [day(0), day(1)]
    slow.release.set()
    await book.flush()
    assert journal_files(tmp_path) == [], "all recorded: the journal is dropped"
    assert not (tmp_path / "dead-letters").exists(), "and the folders made for it"


async def test_a_killed_runs_journal_is_skipped_then_folded_by_the_first_change(
    slow: SlowLedger, server_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = journal_job(tmp_path, monkeypatch)
    server_ledger.record("key", [day(0)])
    killed = ServerLedger(job, "key", "the target")
    await killed.read()
    killed.add(day(1))
    killed.add(day(2))
    assert killed.journal is not None
    killed.journal.close(recorded=False)  # what the kernel does to a SIGKILLed run's file
    if killed._writing is not None:
        killed._writing.cancel()  # and its background change never landed

    run = ServerLedger(job, "key", "the target")
    ledger = await run.read()

    assert [run.is_delivered(day(n)) for n in range(4)] == [True, True, True, False]
    assert ledger.watermark(None, "key") == day(3).start, "the run plans from past them"
    run.add(day(3))
    assert journalled(tmp_path) == [day(1), day(2), day(3)]
    slow.release.set()
    await run.flush()
    assert slow.changes == [[day(3)]]
    assert slow.folded == [[Entry("key", day(1), "the target"), Entry("key", day(2), "the target")]]
    assert journal_files(tmp_path) == []


async def test_another_key_does_not_skip_journalled_windows(
    slow: SlowLedger, server_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window journalled for the old SQL or target is not delivered for the new one."""
    job = journal_job(tmp_path, monkeypatch)
    Journal(journal_of(tmp_path)).append(Entry("old", day(0)))
    run = ServerLedger(job, "new", "the target")
    await run.read()
    assert not run.is_delivered(day(0))


async def test_a_skipped_window_is_recorded_but_not_journalled_again(
    slow: SlowLedger, server_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_ledger.record("key", [day(0)])
    run = ServerLedger(journal_job(tmp_path, monkeypatch), "key")
    await run.read()
    run.add(day(0))  # the loop adds the windows it skipped too
    assert journal_files(tmp_path) == []
    slow.release.set()
    await run.flush()
    assert slow.changes == [[day(0)]]


async def test_windows_the_last_change_could_not_record_stay_journalled_and_are_named(
    slow: SlowLedger, server_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = ServerLedger(journal_job(tmp_path, monkeypatch), "key")
    await run.read()
    run.hold()
    run.add(day(0))
    slow.fail_next = 1
    slow.release.set()
    await run.flush()

    [kept] = journal_files(tmp_path)
    assert run.unrecorded == [day(0)] and journalled(tmp_path) == [day(0)]
    assert run.unrecorded_note() == (
        "1 windows in [2024-01-01T00:00:00Z, 2024-01-02T00:00:00Z) were delivered but not "
        "recorded in the ledger of job 'demo' (503 database is locked): the journal "
        f"{kept} keeps them, and the next run of the job on this machine records them without "
        "sending them again (e.g. `db2api run demo --start 2024-01-01T00:00:00Z --end "
        "2024-01-02T00:00:00Z` once the ledger is free again)"
    )


async def test_a_journal_that_cannot_be_written_is_said_once_and_the_run_goes_on(
    slow: SlowLedger,
    server_ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = journal_job(tmp_path, monkeypatch)
    (tmp_path / "dead-letters").write_text("a file where the folder should be")
    run = ServerLedger(job, "key")
    await run.read()
    run.add(day(0))
    run.add(day(1))
    slow.release.set()
    await run.flush()

    warnings = [r.getMessage() for r in caplog.records if "journal" in r.getMessage()]
    assert len(warnings) == 1 and "cannot be written" in warnings[0]
    assert [w for change in slow.changes for w in change] == [day(0), day(1)]


async def test_a_run_that_records_nothing_leaves_the_journal_to_the_next(
    slow: SlowLedger, server_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dry run (or one with only open windows) makes no ledger change, not even to fold."""
    job = journal_job(tmp_path, monkeypatch)
    ended = Journal(journal_of(tmp_path))
    ended.append(Entry("key", day(0)))
    ended.close(recorded=False)
    dry = ServerLedger(job, "key")
    await dry.read()
    assert dry.is_delivered(day(0))
    slow.release.set()
    await dry.flush()
    assert slow.changes == [] and journalled(tmp_path) == [day(0)]
