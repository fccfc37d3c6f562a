"""Reconciliation through the Prefect flow: the guard fails the run, the flow parameter lifts it."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from db2api.receiver import ReceiverProcess
from db2api.run.catalog import load_job
from tests.support.readings import DEMO_ID, SOURCE_SENSORS, sqlite_ids

pytestmark = pytest.mark.usefixtures("prefect_harness", "fresh_cache")
PER_DAY = SOURCE_SENSORS * 96
DAY1 = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Iterator[None]:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        yield


@pytest.fixture
def source(
    demo_env: ReceiverProcess,
    sqlite_source: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A copy of the demo source this test may delete from; the demo job, reconciling."""
    copy = tmp_path / "readings.sqlite"
    shutil.copy(sqlite_source, copy)
    monkeypatch.setenv("DB2API_DEMO_DB", str(copy))

    def reconciling(name: str) -> Any:
        job = load_job(name)
        return replace(job, target=replace(job.target, reconcile=True))

    monkeypatch.setattr("db2api.run.transfer.load_job", reconciling)  # the loop loads the job
    return copy


async def run(**parameters: Any) -> Any:
    from flows.transfer import transfer

    state = await transfer(
        job="demo", start=date(2024, 1, 1), end=date(2024, 1, 2), return_state=True, **parameters
    )
    data = await state.aresult(raise_on_failure=False)
    return state, data.get("summary") if isinstance(data, dict) else None


async def test_the_fraction_guard_fails_the_run_and_the_flow_parameter_lets_it_delete(
    source: Path, demo_env: ReceiverProcess
) -> None:
    state, _ = await run()
    assert state.is_completed(), state.message
    with sqlite3.connect(source) as conn:
        conn.execute("DELETE FROM readings WHERE sensor_id = 'S002'")  # a sixth of the day

    state, summary = await run(force=True)

    assert state.is_failed()
    assert f"window {DAY1}: 96 of the {PER_DAY} documents of job demo in the target (17%)" in (
        state.message
    )
    assert "run this range again with --max-delete-fraction 0.17" in state.message
    assert len(demo_env.ids("readings")) == PER_DAY

    state, summary = await run(force=True, max_delete_fraction=0.17)

    assert state.is_completed(), state.message
    assert summary.windows[0].deleted == 96 and summary.windows[0].row()["deleted"] == 96
    assert set(demo_env.ids("readings")) == sqlite_ids(source, "2024-01-01", "2024-01-02", DEMO_ID)
