"""The ``transfer`` flow: the transfer loop (:mod:`db2api.run.transfer`) with Prefect's pieces.

Wiring only: the rules of a run (what to skip, what counts as delivered, the
summary, the final state) live in the loop, which the plain path runs too; the flow
passes the Variable ledger, the progress artifact and the window task. Nightly deployments,
manual runs from the UI and backfills all run this same flow; only ``start`` and
``end`` differ (none: from the job's watermark to today's start).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

from prefect import flow, get_client, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from pydantic import WithJsonSchema

from db2api.log import quiet_task_runs
from db2api.orchestration.run_ledger import ServerLedger
from db2api.run.catalog import job_names
from db2api.run.transfer import Pieces, RunResult, verdict
from db2api.run.transfer import transfer as run_transfer
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
    backfill = "backfill" in flow_run.tags
    pieces = Pieces(
        ledger=ServerLedger,
        progress=Progress.start,
        run_window=run_window_task,
        announce=announce,
        rename=lambda name: rename_run(name + (" (backfill)" if backfill and not dry_run else "")),
        publish=publish_summary,
    )
    result = await run_transfer(
        str(getattr(job, "value", job)),
        start_at or start,
        end_at or end,
        pieces,
        dry_run=dry_run,
        force=force,
        label=f"{flow_run.id or 'local'}"[:8],
        max_delete_fraction=max_delete_fraction,
        logger=logger,
    )
    return final_state(result)


async def rename_run(name: str) -> None:
    if flow_run.id:
        async with get_client() as client:
            await client.set_flow_run_name(flow_run.id, name)


def final_state(result: RunResult) -> State:
    """The run's state in the UI, as the loop judged it (:func:`db2api.run.transfer.verdict`)."""
    ok, message = verdict(result)
    data = {"summary": result.summary}
    return Completed(message=message, data=data) if ok else Failed(message=message, data=data)
