"""A node SIGKILLed in the middle of a run: back within ``give_up_after``, or not.

The run is started, the node is killed once it holds some of the run's documents
(its own ``_count``, not a sleep), and then either restarted on the same data folder
and port while the run waits, or left down past a short ``give_up_after``. The
source is throttled in the transform (2 ms a row, in the reader thread) so the run
is still sending when the node dies; the test fails if it was not. What the node
holds afterwards is read from the node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db2api.job import Job, Row
from db2api.records.deadletters import iter_dead_letters
from db2api.run.report import RunSummary
from db2api.run.window import transfer_range
from db2api.transport.retry import RetryPolicy
from tests.conftest import sqlite_ids
from tests.support.jobs import sqlite_job, to_document, with_target
from tests.support.node_reads import count, count_now, own_index, present_ids
from tests.support.search_nodes import ENGINES, SearchNode

from .conftest import start_or_skip

START, END = "2024-01-01", "2024-01-05"  # 2,304 rows, four daily windows
ROW_SECONDS = 0.002
SHORT_BUDGET = 5.0


@pytest.fixture(scope="module", params=sorted(ENGINES, reverse=True), ids=str)
def crash_node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchNode]:
    """A node of each engine of this module's own, to be killed and started again."""
    engine = request.param
    node = start_or_skip(SearchNode(engine, tmp_path_factory.mktemp(f"{engine}-crash")))
    yield node
    node.stop()


def slow_document(row: Row) -> dict[str, Any]:
    """The reading as usual, paced so the run lasts seconds (runs in the reader thread)."""
    time.sleep(ROW_SECONDS)
    return to_document(row)


def paced_job(source: Path, node: SearchNode, index: str, give_up_after: float) -> Job:
    job = sqlite_job(
        str(source),
        node.url,
        transform=slow_document,
        chunk_size=100,
        concurrency=2,
        windows_in_flight=1,
        retry=RetryPolicy(give_up_after=give_up_after, base_delay=0.05, max_delay=1.0),
    )
    return with_target(job, index=index, bulk_docs=20, timeout=10.0)


async def kill_once_it_holds_some(
    node: SearchNode, index: str, run: asyncio.Task[RunSummary]
) -> int:
    """SIGKILL the node as soon as its count shows delivered documents; that count."""
    deadline = time.monotonic() + 120
    while True:
        held = await asyncio.to_thread(count_now, node.url, index)
        if held > 0:
            break
        assert not run.done(), "the run ended before the node held anything"
        assert time.monotonic() < deadline, "the node held nothing after 120 s"
        await asyncio.sleep(0.1)
    node.kill()
    assert not run.done(), "the run had already finished when the node was killed"
    return held


def letters(summary: RunSummary) -> list[dict[str, Any]]:
    path = Path(summary.dead_letter_file)
    return list(iter_dead_letters(path)) if path.exists() else []


@pytest.mark.timeout(400)
async def test_a_node_killed_and_restarted_within_give_up_after_gets_every_row_once(
    crash_node: SearchNode, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    node = crash_node
    with own_index(node, "killed-back") as index:
        source = sqlite_ids(sqlite_source, START, "2024-01-05")
        job = paced_job(sqlite_source, node, index, give_up_after=240)
        run = asyncio.create_task(transfer_range(job, START, END))

        held = await kill_once_it_holds_some(node, index, run)
        await asyncio.to_thread(node.start)  # same data folder and port
        summary = await asyncio.wait_for(run, 300)

        assert 0 < held < len(source)
        assert summary.ok, (summary.fatal, summary.failed)
        assert summary.total("dead") == 0 and letters(summary) == []
        assert summary.retries > 0, "the kill cost no retry: it missed the run"
        assert present_ids(node.url, index, source) == source
        assert count(node.url, index) == len(source), "a document was stored twice"


@pytest.mark.timeout(400)
async def test_a_node_left_down_past_give_up_after_stops_the_run_and_the_next_run_catches_up(
    crash_node: SearchNode, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    node = crash_node
    if not node.is_running:
        await asyncio.to_thread(node.start)
    with own_index(node, "killed-down") as index:
        source = sqlite_ids(sqlite_source, START, END)
        job = paced_job(sqlite_source, node, index, give_up_after=SHORT_BUDGET)
        run = asyncio.create_task(transfer_range(job, START, END))

        await kill_once_it_holds_some(node, index, run)
        down = await asyncio.wait_for(run, 120)

        # summary.unavailable is what `db2api run` turns into exit status 3
        assert down.unavailable and not down.ok
        assert down.total("dead") == 0 and letters(down) == []
        assert down.fatal.startswith(f"target {node.url} unavailable since ")
        assert f"no progress for {SHORT_BUDGET:g} s, the job's retry.give_up_after" in down.fatal
        assert "nothing was lost" in down.fatal

        await asyncio.to_thread(node.start)
        back = await asyncio.wait_for(transfer_range(job, START, END), 240)

        assert back.ok, (back.fatal, back.failed)
        assert letters(back) == []
        assert present_ids(node.url, index, source) == source
        assert count(node.url, index) == len(source)
