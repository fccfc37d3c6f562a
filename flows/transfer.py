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
from pydantic import WithJsonSchema

from db2api.errors import Db2apiError
from db2api.job import resolve
from db2api.log import quiet_task_runs
from db2api.orchestration.ledger_store import LedgerRecorder, origin, read_ledger, target_label
from db2api.records.ledger import Ledger, delivery_key
from db2api.records.windows import Window, iso
from db2api.run.catalog import job_names, load_job
from db2api.run.planning import is_complete, plan
from db2api.run.report import RunSummary, WindowReport, summarise
from db2api.run.runtime import open_runtime
from db2api.run.window import heartbeat, run_windows
from db2api.scrub import install_log_scrubbing
from tasks.artifacts import Progress, announce, publish_summary
from tasks.window_task import run_window_task

JobName = Enum("JobName", {name: name for name in job_names()}, type=str)  # type: ignore[misc]
# A plain date in the form's schema: the UI shows a date picker at once (an optional
# date would open on a "None" tab). Empty still means "not given".
Day = Annotated[date | None, WithJsonSchema({"type": "string", "format": "date"})]


def run_name() -> str:
    """The name a run starts with; renamed to its real range once that is planned."""
    parameters = flow_run.parameters
    job = getattr(parameters.get("job"), "value", parameters.get("job"))
    start = parameters.get("start_at") or parameters.get("start")
    end = parameters.get("end_at") or parameters.get("end")
    return f"{job} {start or 'watermark'}→{end or 'today'}"


@flow(name="transfer", flow_run_name=run_name, log_prints=False)
async def transfer(
    job: JobName,
    start: Day = None,
    end: Day = None,
    dry_run: bool = False,
    force: bool = False,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    max_delete_fraction: float | None = None,
) -> State:
    """Send one job's rows to its target, window by window.

    Args:
        job: Which transfer to run (a file in jobs/).
        start: First day to send, from 00:00 in the job's timezone (inclusive). Pick a
            date, or leave empty to continue from the job's watermark (where the
            delivered history ends).
        end: Day to stop at, 00:00 in the job's timezone (exclusive). Leave empty for
            today. Days that have not ended yet are sent but not recorded as delivered.
        dry_run: Read and build everything, send nothing; rows, bytes and sample
            documents per window in the summary artifact.
        force: Send windows again even if an earlier run delivered them.
        start_at: An exact first moment instead of Start, e.g. 2024-03-01T06:00:00Z
            (for windows shorter than a day). Overrides Start.
        end_at: An exact moment to stop at instead of End. Overrides End.
        max_delete_fraction: Reconciling jobs only: the largest share of a window's
            documents this run may delete (empty: the job's target.max_delete_fraction,
            0.1 by default).
    """
    install_log_scrubbing()
    quiet_task_runs()
    logger = get_run_logger()
    began = time.perf_counter()
    name = str(getattr(job, "value", job))
    try:
        spec = load_job(name)
        ledger = await read_ledger(spec.name)
        url = resolve(spec.target.url, spec.name)
        key = delivery_key(spec.fingerprint, url)
        watermark = ledger.watermark(origin(spec), key)  # this target's: a new one starts over
        work = plan(spec, start_at or start, end_at or end, watermark)
    except Db2apiError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc))
    kind = " (dry run)" if dry_run else " (backfill)" if "backfill" in flow_run.tags else ""
    await rename_run(f"{spec.name} {work.label}{kind}")
    if work.note:
        logger.info(work.note)
    if not work.windows:
        return Completed(message=work.note, data={"summary": None})
    recorder = LedgerRecorder(spec.name, key, label=target_label(spec, url))
    by_key = {window.key: window for window in work.windows}

    async def run_one(window: Window) -> WindowReport:
        if not (force or dry_run) and window not in work.open and ledger.is_delivered(key, window):
            return WindowReport(window.key, cached=True)  # delivered, maybe by another machine
        return await run_window_task(runtime, window, force, dry_run, window in work.open)

    async def on_done(report: WindowReport) -> None:
        window = by_key[report.window]
        if not dry_run and window not in work.open and is_complete(report):
            recorder.add(window)
        progress.update(report)

    try:
        label = f"{flow_run.id or 'local'}"[:8]
        async with open_runtime(spec, label, dry_run, max_delete_fraction) as runtime:
            progress = await Progress.start(spec.name, len(work.windows), logger)
            ticker = asyncio.create_task(heartbeat(runtime, progress.tick))
            try:
                reports, fatal = await run_windows(
                    work.windows, run_one, concurrency=spec.windows_in_flight, on_done=on_done
                )
            finally:
                ticker.cancel()
            path = str(runtime.dead_letters.path)
    except Db2apiError as exc:
        logger.error(str(exc))
        await record_the_rest(recorder, logger)
        return Failed(message="; ".join(filter(None, [str(exc), recorder.unrecorded_note()])))
    finally:
        ledger = await record_the_rest(recorder, logger) or ledger
    summary = summarise(spec, work.windows, reports, fatal, time.perf_counter() - began, path)
    summary.dry_run = dry_run
    summary.retried = getattr(runtime.sink, "retries", None)  # a send that raised counts too
    if recorder.unrecorded:  # delivered, yet the next run would not know: the run failed
        logger.error(recorder.unrecorded_note())
        summary.fatal = "; ".join(filter(None, [summary.fatal, recorder.unrecorded_note()]))
    moved = ledger.watermark(origin(spec), key)
    if moved != watermark:
        logger.info(f"watermark of {spec.name} moved to {iso(moved) if moved else 'none'}")
    logger.info(summary.headline())
    await progress.finish(summary)
    await publish_summary(summary)
    return final_state(summary, work.note)


async def record_the_rest(recorder: LedgerRecorder, logger: Any) -> Ledger | None:
    """The ledger's last change, announced: the server may take many seconds to answer."""
    waiting = recorder.waiting()
    if not waiting:
        return await recorder.flush()
    what = f"recording {waiting:,} windows in the ledger of {recorder.job}"
    return await announce(what, recorder.flush(), logger.info)


async def rename_run(name: str) -> None:
    if flow_run.id:
        async with get_client() as client:
            await client.set_flow_run_name(flow_run.id, name)


def final_state(summary: RunSummary, note: str = "") -> State:
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
    message = f"{summary.total('acked')} documents delivered"
    return Completed(message=f"{message} ({note})" if note else message, data=result)


def failure_message(summary: RunSummary) -> str:
    dead = summary.total("dead")
    broken = [r for r in summary.windows if r.error and not r.dead]
    parts = []
    if dead:
        parts.append(f"{dead} documents dead-lettered to {summary.dead_letter_file}")
    if broken:
        parts.append(f"{len(broken)} windows failed (first: {broken[0].window}: {broken[0].error})")
    return "; ".join(parts) + "; the next run sends these windows again"
