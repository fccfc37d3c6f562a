"""Backfills: a long range split into parts, each one flow run of the deployment.

Prefect OSS has no backfill feature, so a backfill is just many runs of the same
``transfer`` flow with explicit ``start``/``end``, submitted through the job's
backfill deployment. Each part has an idempotency key, so submitting the same
backfill twice creates nothing new; ``retry_failed`` resubmits parts whose run
failed, and those runs skip every window that already completed (the ledger),
so a backfill resumes rather than restarts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from prefect import get_client
from prefect.deployments import arun_deployment
from prefect.exceptions import ObjectNotFound

from db2api.errors import Db2apiError, RangeError
from db2api.job import Job
from db2api.records.windows import Window, iso, span, split, zone

PER = ("day", "week", "month", "year")
FAILED = frozenset({"FAILED", "CRASHED", "CANCELLED"})


@dataclass(frozen=True)
class Part:
    windows: tuple[Window, ...]

    @property
    def start(self) -> datetime:
        return self.windows[0].start

    @property
    def end(self) -> datetime:
        return self.windows[-1].end

    @property
    def label(self) -> str:
        return span(self.start, self.end)


def part_key(per: str, job: Job) -> Callable[[Window], Hashable]:
    """Which part a window belongs to: its local day, ISO week, month or year."""
    tz = zone(job.timezone)
    if per.isdigit():
        size = int(per)
        if size < 1:
            raise RangeError(f"--per {per}: give at least 1 window per part")
        counter = iter(range(10**9))
        return lambda _window: next(counter) // size
    if per not in PER:
        raise RangeError(
            f"--per {per!r} is not understood: use day, week, month, year or a number of windows"
        )

    def key(window: Window) -> Hashable:
        local = window.start.astimezone(tz).date()
        if per == "day":
            return local
        if per == "week":
            return local.isocalendar()[:2]
        if per == "month":
            return (local.year, local.month)
        return local.year

    return key


def split_parts(
    job: Job, start: date | datetime | str, end: date | datetime | str, per: str = "month"
) -> list[Part]:
    """Split ``[start, end)`` into parts made of whole windows, on calendar lines."""
    windows = split(start, end, job.window_length, job.timezone)
    key = part_key(per, job)
    parts: list[list[Window]] = []
    last: Hashable = object()
    for window in windows:
        current = key(window)
        if not parts or current != last:
            parts.append([])
        parts[-1].append(window)
        last = current
    return [Part(tuple(windows)) for windows in parts]


def idempotency_key(job: Job, part: Part, force: bool) -> str:
    return f"db2api-backfill/{job.name}/{iso(part.start)}/{iso(part.end)}" + (
        "/force" if force else ""
    )


@dataclass
class Submitted:
    part: Part
    flow_run_id: str
    name: str
    state: str
    new: bool


async def submit(
    job: Job,
    parts: list[Part],
    deployment: str | None = None,
    force: bool = False,
    retry_failed: bool = False,
    work_queue: str = "backfill",
) -> list[Submitted]:
    """Create (or find) one flow run per part through the job's backfill deployment."""
    if not os.environ.get("PREFECT_API_URL"):
        raise Db2apiError(
            "a backfill submits runs to a Prefect server: set PREFECT_API_URL "
            "(e.g. http://127.0.0.1:4200/api) and start a worker on the db2api pool"
        )
    name = deployment or f"transfer/backfill-{job.name}"
    results: list[Submitted] = []
    async with get_client() as client:
        try:
            await client.read_deployment_by_name(name)
        except ObjectNotFound:
            raise Db2apiError(
                f"deployment {name!r} does not exist: run `db2api deploy {job.name}` (a job "
                "of your own) or `prefect deploy --all` from the project folder (the bundled "
                "jobs; see README, Nightly)"
            ) from None
        for part in parts:
            parameters: dict[str, Any] = {
                "job": job.name,
                "start_at": part.start.isoformat(),
                "end_at": part.end.isoformat(),
                "force": force,
            }
            key = idempotency_key(job, part, force)
            submitted_at = datetime.now(UTC)
            while True:
                run = await arun_deployment(
                    name,
                    client=client,
                    parameters=parameters,
                    timeout=0,
                    idempotency_key=key,
                    tags=["backfill", f"job:{job.name}"],
                    work_queue_name=work_queue,
                    as_subflow=False,
                    flow_run_name=f"{job.name} {part.label} (backfill)",
                )
                state = run.state.type.value if run.state else "UNKNOWN"
                if not (retry_failed and state in FAILED):
                    break
                # A new key per failed run: resubmitting again finds this retry.
                key = f"{idempotency_key(job, part, force)}/retry-after-{run.id}"
            created = run.created is not None and run.created >= submitted_at
            results.append(Submitted(part, str(run.id), run.name, state, created))
    return results
