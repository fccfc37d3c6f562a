"""The ``transfer`` flow: plan windows, run them, publish what happened.

Thin on purpose: parameters in, tasks called in order. Nightly deployments,
manual runs from the UI and backfills all run this same flow; only ``start`` and
``end`` differ.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from pydantic import Field

from db2api.catalog import job_names, load_job
from db2api.errors import Db2apiError, RangeError
from db2api.pipeline import run_windows
from db2api.report import RunSummary, summarise
from db2api.runtime import open_runtime
from db2api.windows import split
from tasks.report import Progress, publish_summary
from tasks.window import run_window_task

JobName = Enum("JobName", {name: name for name in job_names()}, type=str)  # type: ignore[misc]


def run_name() -> str:
    parameters = flow_run.parameters
    job = getattr(parameters.get("job"), "value", parameters.get("job"))
    start, end = parameters.get("start"), parameters.get("end")
    return f"{job} {start or 'watermark'}→{end or 'today'}"


@flow(name="transfer", flow_run_name=run_name, log_prints=False)
async def transfer(
    job: Annotated[JobName, Field(title="Job", description="Which transfer (a file in jobs/).")],
    start: Annotated[
        date | datetime | None,
        Field(title="Start", description="First moment to send (inclusive)."),
    ] = None,
    end: Annotated[
        date | datetime | None, Field(title="End", description="Where to stop (exclusive).")
    ] = None,
    force: Annotated[
        bool, Field(title="Force", description="Send windows again even if already done.")
    ] = False,
) -> State:
    logger = get_run_logger()
    began = time.perf_counter()
    name = getattr(job, "value", job)
    try:
        spec = load_job(str(name))
        if start is None or end is None:
            raise RangeError("give both start and end, e.g. start=2024-01-01 end=2024-02-01")
        windows = split(start, end, spec.window_length, spec.timezone)
    except Db2apiError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc))
    try:
        async with open_runtime(spec, f"{flow_run.id or 'local'}"[:8]) as runtime:
            progress = await Progress.start(spec.name, len(windows), logger)
            reports, fatal = await run_windows(
                windows,
                lambda window: run_window_task(runtime, window, force),
                on_done=progress.update,
            )
            path = str(runtime.dead_letters.path)
    except Db2apiError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc))
    summary = summarise(spec, windows, reports, fatal, time.perf_counter() - began, path)
    logger.info(summary.headline())
    await publish_summary(summary)
    result: dict[str, Any] = {"summary": summary}
    if summary.fatal:
        return Failed(message=summary.fatal, data=result)
    if not summary.ok:
        return Failed(message=failure_message(summary), data=result)
    return Completed(message=f"{summary.total('acked')} documents delivered", data=result)


def failure_message(summary: RunSummary) -> str:
    dead = summary.total("dead")
    broken = [r for r in summary.windows if r.error and not r.dead]
    parts = []
    if dead:
        parts.append(f"{dead} documents dead-lettered to {summary.dead_letter_file}")
    if broken:
        parts.append(f"{len(broken)} windows failed (first: {broken[0].window}: {broken[0].error})")
    return "; ".join(parts) + "; the next run sends these windows again"
