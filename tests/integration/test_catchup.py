"""A catch-up over empty windows, through a real flow run: one task run per empty window,
and progress lines to the end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from db2api.receiver import ReceiverProcess
from tests.support.readings import SOURCE_SENSORS

pytestmark = pytest.mark.usefixtures("prefect_harness")
PER_DAY = SOURCE_SENSORS * 96


@pytest.fixture
async def fresh_ledger(tmp_path: Path) -> AsyncIterator[None]:
    """No window done before or after the test, and Prefect's results in tmp_path."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from db2api.orchestration.ledger_store import clear_ledger

    await clear_ledger("demo")
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        yield
    await clear_ledger("demo")


@pytest.mark.usefixtures("fresh_ledger")
async def test_empty_windows_cost_one_task_run_each_and_progress_runs_to_the_end(
    demo_env: ReceiverProcess, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from db2api.orchestration.ledger_store import read_ledger
    from flows.transfer import transfer

    caplog.set_level("INFO", logger="prefect")
    # The source's last day is 2024-01-04: one window with rows, then 59 empty ones.
    state = await transfer(
        job="demo", start=date(2024, 1, 4), end=date(2024, 3, 4), return_state=True
    )
    summary = (await state.aresult())["summary"]

    assert state.is_completed(), state.message
    assert len(summary.windows) == 60 and summary.total("rows") == PER_DAY
    # The server makes task runs from the events the client sends, and may still be
    # working through them when the run ends: read until all are in (at most 30 s).
    async with get_client() as client:
        for _ in range(60):
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                )
            )
            if len(runs) >= 61:
                break
            await asyncio.sleep(0.5)
    names = [run.name for run in runs]
    assert sum(name.startswith("window ") for name in names) == 60
    assert [name for name in names if name.startswith("chunk ")] == [f"chunk 1 ({PER_DAY} rows)"], (
        "an empty window creates no upload task run"
    )

    lines = [r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs"]
    progress = [line for line in lines if line.startswith("[")]
    assert progress[0].startswith("[1/60 windows, ")
    assert progress[-1].startswith(f"[60/60 windows, {PER_DAY:,} rows, all done in ")
    ledger = await read_ledger("demo")
    assert ledger.watermark(None) is not None and ledger.watermark(None).date() == date(2024, 3, 4)
