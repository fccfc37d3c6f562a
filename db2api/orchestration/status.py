"""``db2api status [JOB]``: where each job stands, gathered from the ledger, Prefect and disk.

Per job: the watermark and gaps (overall and per target, from the ledger's labels),
the last flow run of the transfer flow tagged ``job:<job>``, the open dead letters
(the dead-letter folder and its resolutions record) and the next run of the
``nightly-<job>`` deployment. Without a Prefect server only the dead letters are
known; :attr:`Status.server_note` says which server was tried and how to start one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.server.schemas.schedules import CronSchedule
from prefect.settings import PREFECT_API_URL, temporary_settings

from db2api.job import Job
from db2api.orchestration.deploy import api_url
from db2api.orchestration.ledger_store import read_ledger
from db2api.records.deadletters import dead_letter_folder
from db2api.records.journal import fold_journal, journal_folder
from db2api.records.ledger import Interval, Ledger, describe
from db2api.records.resolutions import file_statuses
from db2api.records.windows import iso
from db2api.run.transfer import origin

LIMIT = 4  # intervals shown before "… n more …"


@dataclass(frozen=True)
class TargetStatus:
    label: str
    watermark: datetime | None
    gaps: list[Interval]


@dataclass(frozen=True)
class LastRun:
    name: str
    state: str
    when: datetime | None
    message: str


@dataclass
class JobStatus:
    job: str
    open_dead_letters: int
    watermark: datetime | None = None
    delivered: list[Interval] = field(default_factory=list)
    gaps: list[Interval] = field(default_factory=list)
    targets: list[TargetStatus] = field(default_factory=list)
    last_run: LastRun | None = None
    next_run: str = ""
    journalled: str = ""  # delivered windows only this machine's journal knows, in words


@dataclass
class Status:
    jobs: list[JobStatus]
    server_note: str = ""  # set when no Prefect server answered


def open_dead_letters(job: Job) -> int:
    return sum(status.open for status in file_statuses(dead_letter_folder(job)))


def from_ledger(status: JobStatus, job: Job, ledger: Ledger) -> None:
    start = origin(job)
    status.watermark = ledger.watermark(start)
    status.delivered = ledger.counted()
    status.gaps = ledger.gaps(start)
    status.targets = [
        TargetStatus(
            ledger.labels.get(key, f"key {key}"),
            ledger.watermark(start, key),
            ledger.gaps(start, key),
        )
        for key in reversed(list(ledger.by_key))  # the most recent first
    ]


async def last_run(client: Any, job: str) -> LastRun | None:
    """The latest run of the transfer flow for this job that has started (tag ``job:<job>``)."""
    runs = await client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=["transfer"])),
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"job:{job}"]),
            start_time=FlowRunFilterStartTime(is_null_=False),
        ),
        sort=FlowRunSort.START_TIME_DESC,
        limit=1,
    )
    if not runs:
        return None
    run = runs[0]
    state = run.state
    return LastRun(
        name=run.name,
        state=state.name if state else "Unknown",
        when=run.end_time or run.start_time,
        message=(state.message or "") if state else "",
    )


async def next_run(client: Any, job: str) -> str:
    """When ``nightly-<job>`` runs next: a time, "paused", or "no nightly deployment"."""
    name = f"nightly-{job}"
    try:
        deployment = await client.read_deployment_by_name(f"transfer/{name}")
    except ObjectNotFound:
        return "no nightly deployment"
    active = [s for s in deployment.schedules if s.active]
    if deployment.paused or not active:
        return f"paused ({name})"
    runs = await client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        limit=1,
    )
    if runs and runs[0].expected_start_time:
        return f"{iso(runs[0].expected_start_time)} ({name})"
    dates = [date for item in active for date in await next_dates(item.schedule)]
    # The server's scheduler has not planned the run yet (it does so every minute or so).
    return f"{iso(min(dates))} ({name})" if dates else f"active, nothing planned ({name})"


async def next_dates(schedule: Any) -> list[datetime]:
    """The next time a cron schedule fires, as the server's scheduler computes it."""
    cron = getattr(schedule, "cron", None)
    if cron is None:
        return []
    return list(
        await CronSchedule(cron=cron, timezone=schedule.timezone, day_or=schedule.day_or).get_dates(
            n=1
        )
    )


async def gather_status(jobs: list[Job]) -> Status:
    """The status of each job; without a server, only what the disk knows."""
    statuses = [JobStatus(job.name, open_dead_letters(job)) for job in jobs]
    url = api_url()
    with temporary_settings(updates={PREFECT_API_URL: url}):  # never an ephemeral server
        async with get_client() as client:
            failed = await client.api_healthcheck()
            if failed is not None:
                note = (
                    f"no Prefect server answers at {url} ({type(failed).__name__}): start one "
                    "with `prefect server start` (or set PREFECT_API_URL) to see watermarks, "
                    "runs and schedules"
                )
                return Status(statuses, note)
            for status, job in zip(statuses, jobs, strict=True):
                ledger = await read_ledger(job.name)
                status.journalled = fold_journal(ledger, journal_folder(job))
                from_ledger(status, job, ledger)
                status.last_run = await last_run(client, job.name)
                status.next_run = await next_run(client, job.name)
    return Status(statuses)


def moment_or_none(value: datetime | None) -> str:
    return iso(value) if value else "none"


def render(status: Status) -> list[str]:
    """The status as aligned lines, one block per job."""
    lines: list[str] = []
    for job in status.jobs:
        if lines:
            lines.append("")
        lines.append(f"job           {job.job}")
        if not status.server_note:
            lines.append(f"watermark     {moment_or_none(job.watermark)}")
            lines.append(f"delivered     {describe(job.delivered, LIMIT)}")
            lines.append(f"gaps          {describe(job.gaps, LIMIT)}")
            for target in job.targets:
                lines.append(
                    f"target        {target.label}: watermark {moment_or_none(target.watermark)}, "
                    f"gaps {describe(target.gaps, LIMIT)}"
                )
            if job.journalled:
                lines.append(f"journal       {job.journalled}")
            lines.append(f"last run      {render_run(job.last_run)}")
        lines.append(f"dead letters  {job.open_dead_letters} open")
        if not status.server_note:
            lines.append(f"next run      {job.next_run}")
    if status.server_note:
        lines.append(status.server_note)
    return lines


def render_run(run: LastRun | None) -> str:
    if run is None:
        return "none"
    when = f" {moment_or_none(run.when)}" if run.when else ""
    message = f": {run.message}" if run.message else ""
    return f"{run.state}{when}{message} ({run.name})"
