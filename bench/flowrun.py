"""The Prefect contestants: the ``transfer`` flow, run in this process.

The flow takes a job *name*, so the job goes into a job file in a temporary
folder named by ``DB2API_JOBS_PATH``, set before ``flows.transfer`` is imported
(its job-name Enum is built at import). The range goes in as exact moments
(``start_at``/``end_at``): a --quick run's range ends mid-day, which the
date-only ``end`` refuses. The Prefect server is the orchestrator's
(already running, so its start-up is not timed); ``force=True`` makes every
window run even if an earlier benchmark run recorded it. The empty-window run is a
nightly catching up instead: a job name of its own per run, so neither the ledger
nor its journal knows its windows, and no ``force``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.jobs import pg_job
from bench.measure import (
    Args,
    BenchError,
    Measurement,
    Stopwatch,
    check_summary,
    timed_transfer,
)
from bench.settings import END, START, TABLE, TINY_TABLE, range_end

URL_ENV = "BENCH_TARGET_URL"
JOB_FILE = '''"""Written by the benchmark (bench/flowrun.py) for one flow run; safe to delete."""

from bench.jobs import pg_job
from db2api.job import Env

job = pg_job(Env("{url_env}"), "bulk", table="{table}", name="{name}")
'''


@contextmanager
def on_server(args: Args) -> Iterator[None]:
    """Flow runs in the block go to the orchestrator's server; Prefect's workers drain after."""
    if not args.prefect_url:
        raise BenchError("flow contestants need --prefect-url (the orchestrator's server)")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from db2api.orchestration.prefect_server import drain_prefect_workers

    with temporary_settings(updates={PREFECT_API_URL: args.prefect_url}):
        try:
            yield
        finally:
            drain_prefect_workers()


def run_flow(
    args: Args,
    name: str,
    table: str,
    end: datetime,
    start: datetime = START,
    force: bool = True,
    expected: int | None = None,
) -> Measurement:
    """Time one ``transfer`` flow run over ``[start, end)``; ``expected`` documents (the
    default: ``args.docs``)."""
    os.environ[URL_ENV] = args.url
    folder = Path(tempfile.mkdtemp(prefix="db2api-bench-jobs-"))
    try:
        (folder / f"{name}.py").write_text(JOB_FILE.format(url_env=URL_ENV, table=table, name=name))
        os.environ["DB2API_JOBS_PATH"] = str(folder)
        with on_server(args):
            from flows.transfer import transfer

            with Stopwatch() as watch:
                flow_run = transfer(  # type: ignore[call-overload]
                    job=name, start_at=start, end_at=end, force=force, return_state=True
                )
                state = asyncio.run(flow_run)
            data: Any = state.result(raise_on_failure=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = data.get("summary") if isinstance(data, dict) else None
    if summary is None:
        raise BenchError(f"flow run ended {state.name}: {state.message}")
    extra = check_summary(summary, args.docs if expected is None else expected)
    extra["state"] = state.name
    return Measurement(summary.total("acked"), watch.seconds, watch.cpu, extra)


def tiny_end(windows: int) -> datetime:
    return START + timedelta(days=windows)


def empty_end(windows: int) -> datetime:
    """Daily windows from the end of the data set hold no row (2024 onwards)."""
    return END + timedelta(days=windows)


def flow_bulk(args: Args) -> Measurement:
    """P4: the flow over the same rows as the plain bulk contestant."""
    return run_flow(args, "benchflow", TABLE, range_end(args.docs))


def flow_tiny(args: Args) -> Measurement:
    """P5: ``args.docs`` windows of one row each, through the flow."""
    return run_flow(args, "benchtiny", TINY_TABLE, tiny_end(args.docs))


def plain_tiny(args: Args) -> Measurement:
    """P5's baseline: the same windows through ``transfer_range``."""
    job = pg_job(args.url, table=TINY_TABLE)
    return timed_transfer(job, START, tiny_end(args.docs), args.docs)


def flow_empty(args: Args) -> Measurement:
    """P6: ``args.docs`` empty daily windows through the flow, as a nightly catching up.

    A fresh job name, so the run plans from an empty ledger and skips no window, as
    after a long pause; without ``force``, as the nightly runs.
    """
    name = f"benchempty-{secrets.token_hex(4)}"
    measurement = run_flow(
        args, name, TINY_TABLE, empty_end(args.docs), start=END, force=False, expected=0
    )
    measurement.docs = args.docs  # windows, so docs/s reads windows per second
    return measurement


def plain_empty(args: Args) -> Measurement:
    """P6's context: the same empty windows through ``transfer_range`` (db2api's own share)."""
    job = pg_job(args.url, table=TINY_TABLE)
    measurement = timed_transfer(job, END, empty_end(args.docs), 0)
    measurement.docs = args.docs
    return measurement
