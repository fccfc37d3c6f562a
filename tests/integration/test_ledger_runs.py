"""The delivered-ranges ledger through real flow runs: order, machines, the future, progress."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from db2api.ops import demodata
from db2api.orchestration.ledger_store import (
    clear_ledger,
    read_ledger,
    read_watermark,
    set_watermark,
)
from db2api.receiver import ReceiverProcess
from db2api.records.ledger import Ledger
from db2api.run.catalog import load_job
from db2api.run.report import RunSummary
from tests.support.readings import SOURCE_SENSORS

pytestmark = pytest.mark.usefixtures("prefect_harness")
PER_DAY = SOURCE_SENSORS * 96
DAY = timedelta(days=1)


def utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
async def clean(tmp_path: Path) -> AsyncIterator[Path]:
    await clear_ledger("demo")
    yield tmp_path
    await clear_ledger("demo")


@contextmanager
def storage(path: Path) -> Iterator[None]:
    """A machine's own local state: Prefect's result storage, and the dead-letter folder
    that also keeps the ledger's journal."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    letters = {"DB2API_DEAD_LETTER_DIR": str(path / "dead-letters")}
    with (
        temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(path)}),
        patch.dict(os.environ, letters),
    ):
        yield


async def run(**parameters: Any) -> tuple[Any, RunSummary | None]:
    from prefect.flows import load_flow_from_entrypoint

    transfer = load_flow_from_entrypoint("flows.transfer:transfer")
    state = await transfer(job="demo", return_state=True, **parameters)
    data = await state.aresult(raise_on_failure=False)
    return state, data.get("summary") if isinstance(data, dict) else None


async def test_parts_finishing_out_of_order_and_together_leave_no_gap(
    demo_env: ReceiverProcess, clean: Path
) -> None:
    job = load_job("demo")  # first_start 2024-01-01
    with storage(clean / "results"):
        late, _ = await run(start=date(2024, 1, 5), end=date(2024, 1, 7))
        assert late.is_completed(), late.message
        assert await read_watermark(job) is None, "01-01 to 01-05 was never sent"
        assert (await read_ledger("demo")).gaps(utc(date(2024, 1, 1))) == [
            (utc(date(2024, 1, 1)), utc(date(2024, 1, 5)))
        ]

        # The two missing parts finish at the same time.
        both = await asyncio.gather(
            run(start=date(2024, 1, 1), end=date(2024, 1, 3)),
            run(start=date(2024, 1, 3), end=date(2024, 1, 5)),
        )

    assert all(state.is_completed() for state, _ in both)
    assert await read_watermark(job) == utc(date(2024, 1, 7))
    assert (await read_ledger("demo")).delivered == [(utc(date(2024, 1, 1)), utc(date(2024, 1, 7)))]


async def test_another_machine_skips_what_the_first_delivered(
    demo_env: ReceiverProcess, clean: Path
) -> None:
    with storage(clean / "machine-a"):
        first, _ = await run(start=date(2024, 1, 2), end=date(2024, 1, 4))
    written = demo_env.stats()["docs_written"]

    with storage(clean / "machine-b"):  # nothing of machine A's on this one
        again, summary = await run(start=date(2024, 1, 2), end=date(2024, 1, 5))
        forced, _ = await run(start=date(2024, 1, 2), end=date(2024, 1, 3), force=True)

    assert first.is_completed() and again.is_completed(), again.message
    assert summary is not None and [w.skipped for w in summary.windows] == [True, True, False]
    assert forced.is_completed()
    assert demo_env.stats()["docs_written"] - written == 2 * PER_DAY, "one new day, one forced"


@pytest.fixture
def recent_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Yesterday's readings, so today and tomorrow lie at the edge of the data."""
    path = tmp_path / "recent.sqlite"
    demodata.build(path, datetime.now(UTC).date() - DAY, 1, sensors=SOURCE_SENSORS)
    monkeypatch.setenv("DB2API_DEMO_DB", str(path))
    return path


async def test_a_future_end_is_sent_up_to_now_and_later_rows_are_not_lost(
    demo_env: ReceiverProcess, recent_source: Path, clean: Path
) -> None:
    job = load_job("demo")
    today = datetime.now(UTC).date()
    await set_watermark("demo", utc(today - DAY))
    with storage(clean / "results"):
        state, summary = await run(start=today - DAY, end=today + 2 * DAY)

        assert state.is_completed(), state.message
        assert "the range reaches into the future: sending up to now" in str(state.message)
        assert summary is not None and len(summary.windows) == 2, "tomorrow is left out"
        assert await read_watermark(job) == utc(today), "today has not ended: not delivered"

        with sqlite3.connect(recent_source) as db:  # a row for today, added afterwards
            db.execute(
                "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (10**9, "S999", "BH-X", f"{today} 00:00:01", 1.0, 2.0, "kPa", "good"),
            )
        again, summary = await run(start=today - DAY, end=today + 2 * DAY)
        assert again.is_completed(), again.message
        nightly, _ = await run()

    assert summary is not None and [w.skipped for w in summary.windows] == [True, False]
    assert demo_env.get("readings", f"S999:{today} 00:00:01") is not None
    assert nightly.is_completed()
    assert nightly.message == f"nothing to do: the watermark is already at {today}"


async def test_progress_ends_at_100_percent_with_the_final_counts(
    demo_env: ReceiverProcess, clean: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with storage(clean / "results"):  # four windows in flight finish together
        state, _ = await run(start=date(2024, 1, 1), end=date(2024, 1, 5))

    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["demo-progress"]))
        )
    [mine] = [a for a in artifacts if a.flow_run_id == state.state_details.flow_run_id]
    assert float(mine.data) == 100.0
    assert mine.description == (
        f"demo: 4 windows done (0 done before, 0 failed): {4 * PER_DAY} rows read, "
        f"{4 * PER_DAY} acknowledged, 0 dead letters"
    )


@pytest.fixture
async def ledger_locked(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Another holder keeps the demo ledger's lock until released; a change gives up after
    a second."""
    from prefect import get_client

    import db2api.orchestration.ledger_store as ledger_store

    monkeypatch.setattr(ledger_store, "LOCK_TIMEOUT", 1.0)
    name = ledger_store.variable_name("demo")
    await ledger_store._ensure_lock(name)
    async with get_client() as client:
        answer = await client.increment_concurrency_slots_with_lease(
            names=[name], slots=1, mode="concurrency", lease_duration=120
        )
        held = [answer.json()["lease_id"]]

        async def release() -> None:
            if held:
                await client.release_concurrency_slots_with_lease(lease_id=held.pop())

        try:
            yield release
        finally:
            await release()


async def test_windows_delivered_but_not_recorded_fail_the_run_and_the_next_records_them(
    demo_env: ReceiverProcess,
    clean: Path,
    ledger_locked: Callable[[], Awaitable[None]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from db2api.cli import main

    command = ["run", "demo", "--start", "2024-01-01", "--end", "2024-01-03"]
    with storage(clean / "results"):
        code = await asyncio.to_thread(main, command)
    out, err = capsys.readouterr()

    journal = clean / "results" / "dead-letters" / "demo" / "_journal"
    [kept] = journal.glob("*.jsonl")
    assert code == 1, "the run failed; 2 would say the input was bad"
    assert err == ""
    assert out.splitlines()[-1] == (
        "run failed: 2 windows in [2024-01-01T00:00:00Z, 2024-01-03T00:00:00Z) were delivered "
        "but not recorded in the ledger of job 'demo' (the ledger of job 'demo' stayed locked "
        f"by another change for 1 s (global concurrency limit 'db2api-ledger-demo')): the journal "
        f"{kept} keeps them, and the next run of the job on this machine records them without "
        "sending them again (e.g. `db2api run demo --start 2024-01-01T00:00:00Z --end "
        "2024-01-03T00:00:00Z` once the ledger is free again)"
    )
    assert demo_env.count("readings") == 2 * PER_DAY, "delivered"
    assert await read_ledger("demo") == Ledger(), "and not recorded"

    await ledger_locked()  # the ledger is free again: the same command
    written = demo_env.stats()["docs_written"]
    with storage(clean / "results"):
        code = await asyncio.to_thread(main, command)
    out, _ = capsys.readouterr()

    assert code == 0, out
    assert "windows      2 (2 done before, skipped; 0 failed)" in out
    assert demo_env.stats()["docs_written"] == written, "nothing was sent again"
    assert await read_watermark(load_job("demo")) == utc(date(2024, 1, 3)), "recorded"
    assert list(journal.glob("*.jsonl")) == [], "and taken out of the journal"
