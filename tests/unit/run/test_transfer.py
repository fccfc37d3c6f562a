"""The one transfer loop with plain pieces: the rules every run follows, flow or not.

The window runner is a stand-in (what a window did is the test's input here; the
window's own work is tested in tests/integration/test_pipeline.py); the ledger is
the plain in-memory one and the runtime opens nothing (no window reads or sends).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from etlhelper import DbParams

from db2api.errors import TargetUnavailable
from db2api.job import Job, Source, Target, resolve
from db2api.records.ledger import Ledger, delivery_key
from db2api.records.windows import Window, split
from db2api.run.plain import LogProgress, MemoryLedger
from db2api.run.report import RunSummary, WindowReport
from db2api.run.transfer import Pieces, RunResult, transfer, verdict


def make_job(**changes: Any) -> Job:
    return Job(
        name="loop",
        source=Source(db=DbParams(dbtype="SQLITE", filename="unused.sqlite")),
        sql="SELECT 1 WHERE :start < :end",
        id=["id"],
        target=Target(url="http://127.0.0.1:9", index="loop"),
        window="1d",
        date_field="at",
        **changes,
    )


def key_of(job: Job) -> str:
    return delivery_key(job.fingerprint, resolve(job.target.url, job.name))


@dataclass
class Runner:
    """Runs no window: answers what the test says each window did, and remembers calls."""

    outcomes: dict[str, Any] = field(default_factory=dict)  # window key -> report or error
    calls: list[tuple[str, bool, bool, bool]] = field(default_factory=list)

    async def __call__(
        self, runtime: Any, window: Window, force: bool, dry_run: bool, is_open: bool
    ) -> WindowReport:
        self.calls.append((window.key, force, dry_run, is_open))
        outcome = self.outcomes.get(window.key, WindowReport(window.key, rows=1, acked=1))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def ran(self) -> list[str]:
        return [call[0] for call in self.calls]


class RefusingLedger(MemoryLedger):
    """A ledger whose writes fail (the server's lock stayed taken): nothing is recorded."""

    def __init__(self, job: str, key: str, label: str = "") -> None:
        super().__init__(job, key, label)
        self.unrecorded: list[Window] = []

    async def flush(self) -> Ledger | None:
        self.unrecorded, self.pending = self.pending, []
        return None

    def unrecorded_note(self) -> str:
        return f"{len(self.unrecorded)} windows were delivered but not recorded" * bool(
            self.unrecorded
        )


def pieces_for(runner: Runner, tmp_path: Path, ledger: Any = MemoryLedger) -> Pieces:
    @asynccontextmanager
    async def no_runtime(job: Job, label: str, dry: bool, fraction: Any) -> AsyncIterator[Any]:
        yield SimpleNamespace(sink=None, dead_letters=SimpleNamespace(path=tmp_path / "letters"))

    return Pieces(
        ledger=ledger, progress=LogProgress.start, run_window=runner, open_runtime=no_runtime
    )


def shared(book: Ledger) -> Any:
    """A ledger factory over one Ledger: runs that share it see each other's windows."""
    return lambda job, key, label: MemoryLedger(job, key, label, ledger=book)


DAYS_RANGE = (date(2024, 1, 1), date(2024, 1, 4), "1d", "UTC")
DAYS = [w.key for w in split(date(2024, 1, 1), date(2024, 1, 4), "1d", "UTC")]


async def run(
    runner: Runner, tmp_path: Path, ledger: Any = MemoryLedger, job: Job | None = None, **kw: Any
) -> RunResult:
    pieces = pieces_for(runner, tmp_path, ledger)
    start, end = kw.pop("start", date(2024, 1, 1)), kw.pop("end", date(2024, 1, 4))
    return await transfer(job or make_job(), start, end, pieces, **kw)


async def test_windows_the_ledger_holds_are_skipped_and_the_rest_recorded(tmp_path: Path) -> None:
    job, book = make_job(), Ledger()
    book.record(key_of(job), split(date(2024, 1, 1), date(2024, 1, 2), "1d", "UTC"))
    runner = Runner()
    result = await run(runner, tmp_path, shared(book), job)
    assert runner.ran() == DAYS[1:], "the delivered day is not read or sent again"
    assert result.summary is not None
    assert [w.skipped for w in result.summary.windows] == [True, False, False]
    assert all(book.is_delivered(key_of(job), w) for w in split("2024-01-01", "2024-01-04", "1d"))
    assert verdict(result) == (True, "2 documents delivered")


async def test_only_complete_closed_windows_are_recorded(tmp_path: Path) -> None:
    """Dead letters, a failed window or a window not ended yet: sent, never recorded."""
    today = datetime.now(UTC).date()
    start = today - timedelta(days=3)
    days = [w.key for w in split(start, today + timedelta(days=1), "1d", "UTC")]
    runner = Runner(
        {
            days[0]: WindowReport(days[0], rows=2, acked=1, dead=1, error="1 dead letters"),
            days[1]: RuntimeError("the window broke"),
        }
    )
    book = Ledger()
    job = make_job()
    result = await run(
        runner, tmp_path, shared(book), job, start=start, end=today + timedelta(days=1)
    )
    assert runner.ran() == days
    assert runner.calls[-1][3] is True, "today's window has not ended: it runs as open"
    recorded = [
        w.key
        for w in split(start, today + timedelta(days=1), "1d")
        if book.is_delivered(key_of(job), w)
    ]
    assert recorded == [days[2]], "only the complete window that has ended"
    assert verdict(result)[0] is False


async def test_a_dry_run_reads_delivered_windows_and_records_nothing(tmp_path: Path) -> None:
    job, book = make_job(), Ledger()
    book.record(key_of(job), split(date(2024, 1, 1), date(2024, 1, 2), "1d", "UTC"))
    runner = Runner()
    result = await run(runner, tmp_path, shared(book), job, dry_run=True)
    assert runner.ran() == DAYS and all(call[2] for call in runner.calls)
    assert book.counted(key_of(job)) == [
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    ]
    assert result.summary is not None and result.summary.dry_run
    assert verdict(result)[1].startswith("dry run: 3 documents would be sent")


async def test_force_sends_delivered_windows_again_and_records_them(tmp_path: Path) -> None:
    job, book = make_job(), Ledger()
    book.record(key_of(job), split(date(2024, 1, 1), date(2024, 1, 4), "1d", "UTC"))
    runner = Runner()
    result = await run(runner, tmp_path, shared(book), job, force=True)
    assert runner.ran() == DAYS and all(call[1] for call in runner.calls)
    assert result.summary is not None and not any(w.skipped for w in result.summary.windows)


async def test_a_fatal_error_stops_the_windows_not_started(tmp_path: Path) -> None:
    runner = Runner({DAYS[0]: TargetUnavailable("the target is down")})
    book = Ledger()
    result = await run(runner, tmp_path, shared(book), make_job(windows_in_flight=1))
    assert runner.ran() == DAYS[:1], "no later window is read once the target is gone"
    assert result.summary is not None
    assert [w.error for w in result.summary.windows[1:]] == ["not run: the run stopped"] * 2
    ok, message = verdict(result)
    assert not ok and "the target is down" in message and "next run" in message
    assert book.counted() == []


async def test_windows_run_with_the_heap_frozen_and_it_is_handed_back_after(
    tmp_path: Path,
) -> None:
    """Full collections skip the heap the run started with (db2api.run.heap), only meanwhile."""
    frozen: list[int] = []

    class Counting(Runner):
        async def __call__(self, *args: Any) -> WindowReport:
            frozen.append(gc.get_freeze_count())
            return await super().__call__(*args)

    await run(Counting(), tmp_path)

    assert len(frozen) == 3 and all(frozen), "every window runs with the heap frozen"
    assert gc.get_freeze_count() == 0


async def test_a_delivered_window_the_ledger_did_not_record_fails_the_run(tmp_path: Path) -> None:
    runner = Runner()
    result = await run(runner, tmp_path, RefusingLedger)
    assert runner.ran() == DAYS
    ok, message = verdict(result)
    assert not ok and "3 windows were delivered but not recorded" in message


async def test_a_job_with_no_start_and_no_watermark_does_not_start(tmp_path: Path) -> None:
    runner = Runner()
    result = await run(runner, tmp_path, start=None, end=None)
    assert result.summary is None and runner.calls == []
    ok, message = verdict(result)
    assert not ok and "no watermark yet and no first_start" in message


class Said:
    """A logger that keeps what the run said (the loop logs through the one it is given)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)

    error = warning = info


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_the_watermark_moves_over_the_recorded_windows(
    tmp_path: Path, in_flight: int
) -> None:
    book, said = Ledger(), Said()
    job = make_job(windows_in_flight=in_flight, first_start=date(2024, 1, 1))
    await run(Runner(), tmp_path, shared(book), job, logger=said)
    assert book.watermark(datetime(2024, 1, 1, tzinfo=UTC), key_of(job)) == datetime(
        2024, 1, 4, tzinfo=UTC
    )
    assert "watermark of loop moved to 2024-01-04T00:00:00Z" in said.lines


async def test_the_summary_is_published_once_the_ledger_recorded_the_last_windows(
    tmp_path: Path,
) -> None:
    book = Ledger()
    seen: list[bool] = []

    async def publish(summary: RunSummary) -> None:
        seen.append(all(book.is_delivered(key_of(make_job()), w) for w in split(*DAYS_RANGE)))

    pieces = replace(pieces_for(Runner(), tmp_path, shared(book)), publish=publish)
    result = await transfer(make_job(), *DAYS_RANGE[:2], pieces)
    assert seen == [True], "published once, after the last change"
    assert verdict(result) == (True, "3 documents delivered")


async def test_a_summary_names_the_windows_the_ledger_refused(tmp_path: Path) -> None:
    published: list[str] = []

    async def publish(summary: RunSummary) -> None:
        published.append(summary.fatal)

    pieces = replace(pieces_for(Runner(), tmp_path, RefusingLedger), publish=publish)
    result = await transfer(make_job(), *DAYS_RANGE[:2], pieces)
    note = "3 windows were delivered but not recorded"
    assert published == [note], "what people read names the unrecorded windows"
    assert verdict(result) == (False, note)
