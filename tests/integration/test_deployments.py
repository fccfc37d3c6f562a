"""End to end, the Prefect way: `prefect server start`, the work pool, `prefect deploy
--all`, process workers, and the receiver. Nightly catch-up, backfills, scale-out and
the failure notification, each checked against what the receiver stored.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db2api.receiver import ReceiverProcess
from tests.conftest import DEMO_ID, sqlite_ids
from tests.support.stack import BIN, Stack, midnight, today

pytestmark = pytest.mark.e2e
DAY = timedelta(days=1)


async def run_deployment(name: str, parameters: dict[str, Any]) -> Any:
    from prefect.deployments import arun_deployment

    return await arun_deployment(
        name, parameters=parameters, timeout=240, poll_interval=1, as_subflow=False
    )


def ids_between(stack: Stack, start: timedelta, end: timedelta) -> set[str]:
    day = midnight(today())
    return sqlite_ids(stack.source, f"{(day - start):%Y-%m-%d}", f"{(day - end):%Y-%m-%d}", DEMO_ID)


async def test_two_workers_share_a_backfill_and_each_id_is_written_once(
    stack: Stack, target: ReceiverProcess
) -> None:
    """Runs first, before the module's worker exists: two workers taking one run at a time,
    each with its own local storage (two machines); parts finish in any order."""
    from db2api.orchestration.ledger_store import read_ledger, read_watermark
    from db2api.run.catalog import load_job

    await asyncio.to_thread(stack.set_watermark, "demo", today() - 6 * DAY)
    a, b = stack.home / "storage-a", stack.home / "storage-b"
    with (
        stack.worker("scale-a", limit=1, storage=a) as first_log,
        stack.worker("scale-b", limit=1, storage=b) as log,
    ):
        out = stack.run(
            str(BIN / "db2api"),
            "backfill",
            "demo",
            "--start",
            (today() - 6 * DAY).isoformat(),
            "--end",
            (today() - 2 * DAY).isoformat(),
            "--per",
            "1",
            "--deployment",
            "transfer/backfill-demo",
        ).stdout
        run_ids = re.findall(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", out)
        assert "4 parts: 4 new flow runs, 0 already there" in out
        assert await wait_final(run_ids) == ["COMPLETED"] * 4
        took = await taken(run_ids, first_log, log)
    assert all(took.values()), f"each worker should take runs: {took}"
    assert sorted(took["scale-a"] + took["scale-b"]) == sorted(run_ids), "each run ran once"
    stored = target.ids("readings")
    assert set(stored) == ids_between(stack, 6 * DAY, 2 * DAY)
    assert set(stored.values()) == {1}, "every document written exactly once"
    assert await read_watermark(load_job("demo")) == midnight(today() - 2 * DAY)
    assert (await read_ledger("demo")).gaps(None) == []

    # Only machine B is up: a part machine A delivered is skipped all the same.
    with stack.worker("scale-b2", limit=1, storage=b):
        again = await run_deployment(
            "transfer/backfill-demo",
            {"start": (today() - 6 * DAY).isoformat(), "end": (today() - 2 * DAY).isoformat()},
        )
    assert again.state.is_completed(), again.state.message
    assert target.ids("readings") == stored, "nothing sent again, A's parts included"


async def test_nightly_runs_from_the_watermark_and_catch_up(
    stack: Stack, worker: Path, target: ReceiverProcess
) -> None:
    from db2api.orchestration.ledger_store import clear_ledger, read_watermark
    from db2api.run.catalog import load_job

    # The job's first_start is long ago: say everything before two days ago was delivered.
    await clear_ledger("demo")
    await asyncio.to_thread(stack.set_watermark, "demo", today() - 2 * DAY)
    first = await run_deployment(
        "transfer/nightly-demo", {"start": (today() - 2 * DAY).isoformat()}
    )

    assert first.state.is_completed(), first.state.message
    assert first.name == f"demo {today() - 2 * DAY}→{today()}"
    assert set(target.ids("readings")) == ids_between(stack, 2 * DAY, 0 * DAY)
    assert await read_watermark(load_job("demo")) == midnight(today())
    written = target.stats()["docs_written"]

    # As the schedule would: no parameters. Nothing new since the watermark.
    nothing = await run_deployment("transfer/nightly-demo", {})

    assert nothing.state.is_completed()
    assert "nothing to do" in str(nothing.state.message)
    assert target.stats()["docs_written"] == written

    # A night that failed: the watermark stayed two days back. The next run catches up,
    # and the windows already delivered are skipped rather than sent again.
    await asyncio.to_thread(stack.set_watermark, "demo", today() - 2 * DAY)
    target.reset()
    caught_up = await run_deployment("transfer/nightly-demo", {})

    assert caught_up.state.is_completed(), caught_up.state.message
    assert caught_up.name == f"demo {today() - 2 * DAY}→{today()}"
    assert await read_watermark(load_job("demo")) == midnight(today())
    assert target.ids("readings") == {}, "both windows were done: skipped, not re-sent"


async def test_a_backfill_submitted_twice_runs_once(
    stack: Stack, worker: Path, target: ReceiverProcess
) -> None:
    start, end = (today() - 8 * DAY).isoformat(), (today() - 6 * DAY).isoformat()
    command = [
        str(BIN / "db2api"),
        "backfill",
        "demo",
        "--start",
        start,
        "--end",
        end,
        "--per",
        "day",
        "--force",
    ]

    first = stack.run(*command).stdout
    second = stack.run(*command).stdout

    assert "2 parts: 2 new flow runs, 0 already there" in first
    assert "2 parts: 0 new flow runs, 2 already there" in second
    run_ids = re.findall(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", first)
    assert sorted(run_ids) == sorted(re.findall(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", second))
    states = await wait_final(run_ids)
    assert states == ["COMPLETED", "COMPLETED"]
    stored = target.ids("readings")
    assert set(stored) == ids_between(stack, 8 * DAY, 6 * DAY)
    assert set(stored.values()) == {1}, "each part ran once: every document written once"


async def test_retry_failed_resubmits_only_the_failed_part(
    stack: Stack, worker: Path, target: ReceiverProcess
) -> None:
    """A part whose run failed (dead letters) is submitted again with --retry-failed, once."""

    def backfill(days: int, *extra: str) -> tuple[str, list[str]]:
        out = stack.run(
            str(BIN / "db2api"),
            "backfill",
            "demo",
            "--start",
            (today() - 5 * DAY).isoformat(),
            "--end",
            (today() - (5 - days) * DAY).isoformat(),
            "--per",
            "day",
            "--force",
            *extra,
        ).stdout
        return out, re.findall(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", out)

    target.set_faults(reject_field="sensor_id", reject_value="S001")
    _, (failed_id,) = backfill(1)
    assert await wait_final([failed_id]) == ["FAILED"]
    target.set_faults()  # the target was fixed

    plain, plain_ids = backfill(2)
    assert "2 parts: 1 new flow runs, 1 already there" in plain
    assert plain_ids[0] == failed_id, "without --retry-failed the failed run is found, not redone"
    assert await wait_final(plain_ids[1:]) == ["COMPLETED"]

    retried, retry_ids = backfill(2, "--retry-failed")
    assert "2 parts: 1 new flow runs, 1 already there" in retried
    assert retry_ids[0] != failed_id and retry_ids[1] == plain_ids[1]
    assert await wait_final(retry_ids[:1]) == ["COMPLETED"]

    again, again_ids = backfill(2, "--retry-failed")
    assert "2 parts: 0 new flow runs, 2 already there" in again
    assert again_ids == retry_ids, "the retry is found again, not submitted twice"
    stored = target.ids("readings")
    assert set(stored) == ids_between(stack, 5 * DAY, 3 * DAY)
    # The failed part stored all but S001; its one retry wrote the whole day again.
    # The other part ran once.
    failed_day = ids_between(stack, 5 * DAY, 4 * DAY)
    assert stored == {
        doc_id: 2 if doc_id in failed_day and not doc_id.startswith("S001:") else 1
        for doc_id in stored
    }


async def test_a_failed_run_notifies_the_webhook(
    stack: Stack, worker: Path, target: ReceiverProcess, webhook: asyncio.Queue[Any]
) -> None:
    target.set_faults(reject_field="sensor_id", reject_value="S001")
    day = today() - DAY
    failed = await run_deployment(
        "transfer/nightly-demo",
        {"start": day.isoformat(), "end": today().isoformat(), "force": True},
    )

    assert failed.state.is_failed()
    message = await asyncio.wait_for(webhook.get(), timeout=90)
    assert message["subject"] == f"db2api: {failed.name} ended Failed"
    assert "documents dead-lettered to" in message["body"]


async def taken(run_ids: list[str], *logs: Path, timeout: float = 30) -> dict[str, list[str]]:
    """Which worker ran which run, once their logs (written by another process) show all."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        took = {log.stem: ran(log, run_ids) for log in logs}
        if sum(map(len, took.values())) >= len(run_ids) or loop.time() > deadline:
            return took
        await asyncio.sleep(0.5)


def ran(worker_log: Path, run_ids: list[str]) -> list[str]:
    """Runs this worker executed (a worker whose submission was aborted does not count)."""
    text = worker_log.read_text(errors="replace")
    return [i for i in run_ids if re.search(rf"Flow run '[^']*' - View at \S*/{i}", text)]


async def wait_final(run_ids: list[str], timeout: float = 240) -> list[str]:
    from prefect import get_client

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with get_client() as client:
        while True:
            runs = [await client.read_flow_run(run_id) for run_id in run_ids]  # type: ignore[arg-type]
            states = [run.state.type.value if run.state else "?" for run in runs]
            if all(run.state and run.state.is_final() for run in runs):
                return states
            if loop.time() > deadline:
                raise AssertionError(f"runs not finished in {timeout}s: {states}")
            await asyncio.sleep(1)
