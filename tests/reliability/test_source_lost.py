"""R2b: PostgreSQL drops the connection while a window is being read.

The receiver is slowed down and chunks are small, so the extraction thread waits
on the bounded queue with its server-side cursor open; then the test terminates
that backend from PostgreSQL (`pg_terminate_backend` on the connection whose
`application_name` is `db2api <job>`), as a DBA or a failover would.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from db2api.job import Job
from db2api.receiver import ReceiverProcess
from db2api.run.window import transfer_range
from tests.reliability.test_crash import JOB_FILE
from tests.support.reliability import PER_DAY, connect, reliability_job, source_ids, until

pytestmark = pytest.mark.reliability
# libpq says one of these, depending on whether the FATAL message arrives before
# the socket closes, and whether the connection uses SSL (Debian's cluster has ssl on).
# The user@host:port/db part is masked when the password is also the user name (as for
# the test role, db2api/db2api): known secrets are masked anywhere.
LOST = re.compile(
    r"SourceLost: reading PG \S+@127\.0\.0\.1:\d+/\S+ failed \(job 'rel-lost'\): "
    r"OperationalError: (terminating connection due to administrator command"
    r"|server closed the connection unexpectedly|SSL connection has been closed unexpectedly)"
)


def slow_job(params: dict[str, Any], url: str, name: str) -> Job:
    return reliability_job(
        params, url, "bulk", name, chunk_size=500, concurrency=1, windows_in_flight=1
    )


async def terminate_when_reading(params: dict[str, Any], job: str, rx: ReceiverProcess) -> int:
    """Once 1,000 documents arrived, end the job's backend; returns its pid."""
    await until(lambda: rx.count("readings") >= 1000, 60, "the first documents")

    def terminate() -> int:
        conn = connect(params)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    (f"db2api {job}",),
                )
                rows = cur.fetchall()
        finally:
            conn.close()
        assert len(rows) == 1 and rows[0][1] is True, rows
        return int(rows[0][0])

    return await asyncio.to_thread(terminate)


@pytest.mark.timeout(60)
async def test_a_dropped_connection_fails_the_window_cleanly_without_prefect(
    reliability_source: dict[str, Any], rx: ReceiverProcess, dead_letter_dir: Path
) -> None:
    """The plain pipeline does not retry: the window fails with one SourceLost line, the
    next window still runs (the error is not fatal), nothing is dead-lettered."""
    job = slow_job(reliability_source, rx.url, "rel-lost")
    rx.set_faults(latency_ms=100)  # 250 ms to deliver a chunk of 500: the reader waits

    killer = asyncio.create_task(terminate_when_reading(reliability_source, job.name, rx))
    summary = await transfer_range(job, "2024-01-01", "2024-01-03")
    await killer

    first, second = summary.windows
    assert LOST.fullmatch(first.error), first.error
    assert "Traceback" not in "\n".join(summary.lines()) and "\n" not in first.error
    assert summary.fatal == "" and second.error == "" and second.acked == PER_DAY
    assert summary.failed == [f"{first.window}: {first.error}"]
    assert summary.total("dead") == 0 and not dead_letter_dir.exists()
    stored = set(rx.ids("readings"))
    assert stored >= source_ids(reliability_source, "2024-01-02", "2024-01-03")
    assert len(stored & source_ids(reliability_source, "2024-01-01", "2024-01-02")) >= 1000

    rx.set_faults()
    again = await transfer_range(job, "2024-01-01", "2024-01-02")  # what the next run does

    assert again.ok and set(rx.ids("readings")) == source_ids(
        reliability_source, "2024-01-01", "2024-01-03"
    )


@pytest.fixture
def flow_job(
    reliability_source: dict[str, Any],
    rx: ReceiverProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A job file for the flow to load by name, and Prefect results of its own."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from tests.support.readings import PG_PASSWORD_ENV
    from tests.support.reliability import SQL

    name = "rel-lost-flow"
    (tmp_path / f"{name}.py").write_text(
        JOB_FILE.format(
            name=name, params=reliability_source, password_env=PG_PASSWORD_ENV, sql=SQL, url=rx.url
        ).replace("chunk_size=2000,\n    concurrency=2,", "chunk_size=500,\n    concurrency=1,")
    )
    monkeypatch.setenv("DB2API_JOBS_PATH", str(tmp_path))
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        yield name


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("prefect_harness")
async def test_through_the_flow_the_window_task_retries_and_the_run_completes(
    reliability_source: dict[str, Any],
    rx: ReceiverProcess,
    dead_letter_dir: Path,
    flow_job: str,
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.transfer import transfer

    rx.set_faults(latency_ms=100)
    killer = asyncio.create_task(terminate_when_reading(reliability_source, flow_job, rx))
    # The flow's `job` parameter is an Enum of the job files found when flows.transfer
    # was first imported in this process; this job file was written afterwards.
    state = await transfer.with_options(validate_parameters=False)(
        job=flow_job, start=date(2024, 1, 1), end=date(2024, 1, 2), return_state=True
    )
    pid = await killer

    assert state.is_completed(), state.message
    assert state.message == f"{PER_DAY} documents delivered"
    assert set(rx.ids("readings")) == source_ids(reliability_source, "2024-01-01", "2024-01-02")
    assert not dead_letter_dir.exists()
    async with get_client() as client:
        tasks = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
    [window] = [t for t in tasks if t.name.startswith("window")]
    assert window.run_count == 2, "the window task ran again after the source was lost"
    # Uploads of the lost attempt were cancelled with it; none failed and went on retrying.
    uploads = Counter(t.state.name if t.state else "?" for t in tasks if t.name.startswith("chunk"))
    assert set(uploads) <= {"Completed", "Crashed", "RolledBack"}, uploads
    assert all(t.run_count == 1 for t in tasks if t.name.startswith("chunk"))
    print(
        json.dumps(
            {
                "test": "R2b source lost (flow)",
                "terminated_backend": pid,
                "window_task_runs": window.run_count,
                "upload_task_states": dict(uploads),
                "requests": rx.stats()["requests"],
            }
        )
    )
