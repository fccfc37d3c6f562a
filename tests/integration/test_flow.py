"""Real Prefect flow runs (one test harness for the session) of the bundled demo job."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

import db2api.orchestration  # noqa: F401 - what flows/transfer.py imports: the log bridge
from db2api.log import run_logger
from db2api.receiver import ReceiverProcess
from db2api.records.deadletters import iter_dead_letters
from db2api.run.report import RunSummary
from tests.support.readings import DEMO_ID, SOURCE_SENSORS, sqlite_ids

pytestmark = pytest.mark.usefixtures("prefect_harness", "fresh_ledger")
PER_DAY = SOURCE_SENSORS * 96


@pytest.fixture
async def fresh_ledger(tmp_path: Path) -> AsyncIterator[None]:
    """Each test starts and ends with no windows done: an empty ledger (its journal is in
    the test's own dead-letter folder), and Prefect's results in tmp_path."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from db2api.orchestration.ledger_store import clear_ledger

    await clear_ledger("demo")
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        yield
    await clear_ledger("demo")  # the session's server outlives the test: leave no record


async def run(**parameters: Any) -> tuple[Any, RunSummary | None]:
    from flows.transfer import transfer

    state = await transfer(job="demo", return_state=True, **parameters)
    data = await state.aresult(raise_on_failure=False)
    return state, data.get("summary") if isinstance(data, dict) else None


async def test_a_run_delivers_and_a_rerun_skips_the_windows_already_done(
    demo_env: ReceiverProcess, sqlite_source: Path
) -> None:
    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 3))

    assert state.is_completed(), state.message
    assert summary is not None and [w.skipped for w in summary.windows] == [False, False]
    assert set(demo_env.ids("readings")) == sqlite_ids(
        sqlite_source, "2024-01-01", "2024-01-03", DEMO_ID
    )
    written = demo_env.stats()["docs_written"]

    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 4))

    assert state.is_completed(), state.message
    assert summary is not None and [w.skipped for w in summary.windows] == [True, True, False]
    assert demo_env.stats()["docs_written"] - written == PER_DAY, "only the new day was sent"
    assert set(demo_env.ids("readings")) == sqlite_ids(
        sqlite_source, "2024-01-01", "2024-01-04", DEMO_ID
    )
    assert state.name == "Completed" and state.message == f"{PER_DAY} documents delivered"


async def test_force_sends_windows_again(demo_env: ReceiverProcess) -> None:
    await run(start=date(2024, 1, 1), end=date(2024, 1, 2))
    demo_env.reset()
    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 2))
    assert summary is not None and summary.windows[0].skipped and not demo_env.ids("readings")

    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 2), force=True)

    assert state.is_completed() and summary is not None and not summary.windows[0].skipped
    assert len(demo_env.ids("readings")) == PER_DAY


async def test_dead_letters_fail_the_run_and_the_window_is_sent_again_next_time(
    demo_env: ReceiverProcess, sqlite_source: Path
) -> None:
    demo_env.set_faults(reject_field="sensor_id", reject_value="S003")
    state, summary = await run(start=date(2024, 1, 2), end=date(2024, 1, 3))

    assert state.is_failed()
    assert summary is not None and summary.total("dead") == 96
    assert f"96 documents dead-lettered to {summary.dead_letter_file}" in str(state.message)
    letters = list(iter_dead_letters(Path(summary.dead_letter_file)))
    assert {letter["document"]["sensor_id"] for letter in letters} == {"S003"}

    demo_env.set_faults()  # the target is fixed
    state, summary = await run(start=date(2024, 1, 2), end=date(2024, 1, 3))

    assert state.is_completed() and summary is not None and not summary.windows[0].skipped
    assert set(demo_env.ids("readings")) == sqlite_ids(
        sqlite_source, "2024-01-02", "2024-01-03", DEMO_ID
    )


async def test_the_run_publishes_a_table_of_its_windows(demo_env: ReceiverProcess) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    state, _ = await run(start=date(2024, 1, 3), end=date(2024, 1, 5))

    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["demo-windows"])),
        )
    mine = [a for a in artifacts if a.flow_run_id == state.state_details.flow_run_id]
    assert len(mine) == 1 and mine[0].type == "table"
    table = (
        mine[0].data if isinstance(mine[0].data, list) else __import__("json").loads(mine[0].data)
    )
    assert [row["window"] for row in table] == [
        "2024-01-03T00:00:00Z/2024-01-04T00:00:00Z",
        "2024-01-04T00:00:00Z/2024-01-05T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"start": date(2024, 1, 5), "end": date(2024, 1, 1)},
            "range is reversed: end 2024-01-01T00:00:00Z is before start 2024-01-05T00:00:00Z; "
            "swap --start and --end",
        ),
        (
            {"start": date(2999, 1, 5)},
            "start 2999-01-05T00:00:00Z is not before today's start",
        ),
    ],
)
async def test_bad_input_fails_the_run_with_one_clear_line(
    demo_env: ReceiverProcess, parameters: dict[str, Any], message: str
) -> None:
    state, summary = await run(**parameters)

    assert state.is_failed() and str(state.message).startswith(message) and summary is None
    assert "\n" not in str(state.message)
    assert demo_env.stats()["requests"] == 0


async def test_a_dry_run_builds_everything_sends_nothing_and_records_nothing(
    demo_env: ReceiverProcess, sqlite_source: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 3), dry_run=True)

    assert state.is_completed()
    assert state.message == f"dry run: {2 * PER_DAY} documents would be sent, 0 rejected"
    assert demo_env.stats()["requests"] == 0 and not demo_env.ids("readings")
    assert summary is not None and summary.total("bytes") > 0 and summary.total("requests") > 0
    sample = summary.windows[0].samples[0]
    assert sample["id"] == "S001:2024-01-01 00:00:00"
    assert sample["document"]["measured_at"] == "2024-01-01T00:00:00Z"
    async with get_client() as client:
        [artifact] = [
            a
            for a in await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["demo-summary"]))
            )
            if a.flow_run_id == state.state_details.flow_run_id
        ]
    assert "Sample documents (dry run: nothing was sent)" in str(artifact.data)

    # Nothing was recorded: a real run afterwards sends both windows.
    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 3))
    assert state.is_completed() and summary is not None
    assert [w.skipped for w in summary.windows] == [False, False]
    assert set(demo_env.ids("readings")) == sqlite_ids(
        sqlite_source, "2024-01-01", "2024-01-03", DEMO_ID
    )


async def test_a_window_that_fails_its_accounting_is_not_recorded_and_runs_again(
    demo_env: ReceiverProcess, sqlite_source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads that report one delivery too few fail the window; the next run sends it again."""
    import tasks.window_task
    from db2api.records.document import Chunk
    from db2api.targets import DocumentSink, Outcome

    real_upload = tasks.window_task.upload_chunk

    async def one_too_few(sink: DocumentSink, chunk: Chunk) -> Outcome:
        outcome = await real_upload(sink, chunk)
        if chunk.number == 1:
            outcome.acked -= 1
        return outcome

    with monkeypatch.context() as patch:
        patch.setattr(tasks.window_task, "upload_chunk", one_too_few)
        state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 2))

    window = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
    error = (
        f"AccountingError: window {window}: read {PER_DAY} rows but accounted for {PER_DAY - 1} "
        f"(acked {PER_DAY - 1} + dead letters 0 + duplicates 0); "
        "the window is not complete and will be sent again on the next run"
    )
    assert state.is_failed(), state.message
    assert summary is not None and [w.error for w in summary.windows] == [error]
    assert state.message == (
        f"1 windows failed (first: {window}: {error}); the next run sends these windows again"
    )
    assert set(demo_env.ids("readings").values()) == {1}

    # The uploads count right again: the same range runs the window again.
    state, summary = await run(start=date(2024, 1, 1), end=date(2024, 1, 2))

    assert state.is_completed(), state.message
    assert summary is not None and [w.skipped for w in summary.windows] == [False]
    assert summary.windows[0].acked == PER_DAY
    stored = demo_env.ids("readings")
    assert set(stored) == sqlite_ids(sqlite_source, "2024-01-01", "2024-01-02", DEMO_ID)
    assert set(stored.values()) == {2}, "the failed window was sent again, not skipped"


async def test_library_lines_reach_the_flow_runs_log() -> None:
    """The library logs through db2api.log; importing db2api.orchestration (the flows do)
    hands it Prefect's run logger, whose lines the UI shows with the run."""
    line = "a library warning for the run log"

    @flow(name="db2api-log-bridge-probe")
    async def probe() -> str:
        logger = run_logger()
        logger.warning(line)
        return str(logger.logger.name)

    state = await probe(return_state=True)
    assert await state.aresult() == "prefect.flow_runs"
    assert run_logger().name == "db2api", "outside a run: the plain logger"
    await APILogWorker.drain_all(timeout=10)
    run_id = state.state_details.flow_run_id
    async with get_client() as client:
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
        )
    assert line in [log.message for log in logs]


class Documents(list):  # type: ignore[type-arg]
    """A chunk's documents in a list that can be weakly referenced."""


def lent_chunk(rows: int = 3) -> Any:
    from db2api.records.document import Chunk, Document

    documents = Documents(Document(str(n), b"{}") for n in range(rows))
    return Chunk(1, rows, documents, [], 0), weakref.ref(documents)


class TimingOutSink:
    """Arms a request timeout and cancels it once answered, as aiohttp does; fails at first
    when told to (an unexpected error, which Prefect retries)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.sent: list[int] = []

    async def send(self, documents: Any, prepared: Any = None) -> Any:
        from db2api.targets import Outcome

        asyncio.get_running_loop().call_later(3600, lambda: None).cancel()
        self.sent.append(len(documents))
        if self.failures:
            self.failures -= 1
            raise ConnectionResetError("reset mid-answer")
        outcome = Outcome()
        outcome.acked = len(documents)
        return outcome


async def test_an_upload_task_lets_go_of_its_chunk_once_the_target_has_it() -> None:
    """A cancelled timer keeps the task run's context (and its parameters) in the event
    loop's schedule while a live timer is due before it: the documents must not stay."""
    from tasks.upload import upload_chunk

    @flow
    async def one_upload() -> weakref.ref[Any]:
        chunk, documents = lent_chunk()
        outcome = await upload_chunk(TimingOutSink(), chunk)
        assert outcome.acked == 3
        return documents

    due_first = asyncio.get_running_loop().call_later(60, lambda: None)
    try:
        documents = await one_upload()
        gc.collect()
        assert documents() is None, "the chunk's documents outlived their upload"
    finally:
        due_first.cancel()


async def test_an_upload_retried_after_an_unexpected_error_sends_its_chunk_again() -> None:
    from prefect.utilities.annotations import opaque

    from tasks.upload import Parcel, upload_chunk_task

    sink = TimingOutSink(failures=1)
    retried = upload_chunk_task.with_options(retry_delay_seconds=0)

    @flow
    async def one_upload() -> Any:
        chunk, _ = lent_chunk()
        return await retried(opaque(sink), opaque(Parcel(chunk)))

    outcome = await one_upload()

    assert sink.sent == [3, 3] and outcome.acked == 3
