"""The ``transfer`` flow: plan windows, run them, publish what happened.

Thin on purpose: parameters in, tasks called in order. Nightly deployments,
manual runs from the UI and backfills all run this same flow; only ``start`` and
``end`` differ (none: from the job's watermark to today's start).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

from prefect import flow, get_client, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from pydantic import Field

from db2api.catalog import job_names, load_job
from db2api.errors import Db2apiError
from db2api.log import quiet_task_runs
from db2api.pipeline import heartbeat, run_windows
from db2api.report import RunSummary, summarise
from db2api.runtime import open_runtime
from db2api.scrub import install_log_scrubbing
from db2api.watermark import advance, plan
from db2api.windows import iso, short
from tasks.report import Progress, publish_summary
from tasks.watermark import read_watermark, write_watermark
from tasks.window import run_window_task

JobName = Enum("JobName", {name: name for name in job_names()}, type=str)  # type: ignore[misc]


def run_name() -> str:
    """The name a run starts with; renamed to its real range once that is planned."""
    parameters = flow_run.parameters
    job = getattr(parameters.get("job"), "value", parameters.get("job"))
    start, end = parameters.get("start"), parameters.get("end")
    return f"{job} {start or 'watermark'}→{end or 'today'}"


@flow(name="transfer", flow_run_name=run_name, log_prints=False)
async def transfer(
    job: Annotated[
        JobName, Field(title="Job", description="Which transfer to run (a file in jobs/).")
    ],
    start: Annotated[
        date | datetime | None,
        Field(
            title="Start",
            description="First moment to send, inclusive. Empty: from the job's watermark "
            "(where the last complete run ended).",
        ),
    ] = None,
    end: Annotated[
        date | datetime | None,
        Field(
            title="End",
            description="Where to stop, exclusive. Empty: today 00:00 in the job's timezone.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        Field(
            title="Dry run",
            description="Read and build everything, send nothing: rows, bytes and sample "
            "documents per window.",
        ),
    ] = False,
    force: Annotated[
        bool,
        Field(title="Force", description="Send windows again even if an earlier run did."),
    ] = False,
) -> State:
    install_log_scrubbing()
    quiet_task_runs()
    logger = get_run_logger()
    began = time.perf_counter()
    name = str(getattr(job, "value", job))
    try:
        spec = load_job(name)
        watermark = await read_watermark(spec.name)
        work = plan(spec, start, end, watermark)
    except Db2apiError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc))
    kind = " (dry run)" if dry_run else " (backfill)" if "backfill" in flow_run.tags else ""
    await rename_run(f"{spec.name} {work.label}{kind}")
    if not work.windows:
        message = f"nothing to do: the watermark is already at {short(work.start)}"
        logger.info(message)
        return Completed(message=message, data={"summary": None})
    try:
        async with open_runtime(spec, f"{flow_run.id or 'local'}"[:8], dry_run) as runtime:
            progress = await Progress.start(spec.name, len(work.windows), logger)
            ticker = asyncio.create_task(heartbeat(runtime, progress.tick))
            try:
                reports, fatal = await run_windows(
                    work.windows,
                    lambda window: run_window_task(
                        runtime, window, force or window in work.refresh, dry_run
                    ),
                    concurrency=spec.windows_in_flight,
                    on_done=progress.update,
                )
            finally:
                ticker.cancel()
            path = str(runtime.dead_letters.path)
    except Db2apiError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc))
    summary = summarise(spec, work.windows, reports, fatal, time.perf_counter() - began, path)
    summary.dry_run = dry_run
    if not dry_run and (work.from_watermark or watermark is None or work.start <= watermark):
        moved = advance(watermark, work.windows, reports)
        if moved != watermark:
            await write_watermark(spec.name, moved)
            logger.info(f"watermark of {spec.name} moved to {iso(moved)}")
    logger.info(summary.headline())
    await publish_summary(summary)
    return final_state(summary)


async def rename_run(name: str) -> None:
    if flow_run.id:
        async with get_client() as client:
            await client.set_flow_run_name(flow_run.id, name)


def final_state(summary: RunSummary) -> State:
    result: dict[str, Any] = {"summary": summary}
    if summary.fatal:
        return Failed(message=summary.fatal, data=result)
    if summary.dry_run:
        return Completed(
            message=f"dry run: {summary.total('acked')} documents would be sent, "
            f"{summary.total('dead')} rejected",
            data=result,
        )
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
