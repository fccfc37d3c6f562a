"""``db2api deploy JOB``: a user's own job deployed like the bundled ones in ``prefect.yaml``.

``prefect deploy --all`` only knows the deployments written in ``prefect.yaml``; a job
in a folder of ``DB2API_JOBS_PATH`` gets its three here, from the same entrypoint,
pool, queues and tags: ``nightly-<job>`` (its schedule paused unless asked),
``run-<job>`` (manual runs from the UI) and ``backfill-<job>`` (``db2api backfill``).

Each carries, in its job variables, the job's folder as ``DB2API_JOBS_PATH``, so a
worker started without it imports the flow with the job known (the flow's ``job``
parameter is an Enum built from the jobs found when ``flows/transfer.py`` is
imported, in the run's own process, whose environment the job variables extend),
and the *names* of the environment variables the job reads as ``DB2API_NEEDS_ENV``
(never their values: the worker's machine must have them set).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_client
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.runner.storage import LocalStorage
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import ValidationError

from db2api.errors import JobError, RangeError, ServerError
from db2api.job import Env, Job
from db2api.records.windows import zone
from db2api.run.catalog import job_files, load_job

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = "flows/transfer.py:transfer"
POOL = "db2api"
NIGHTLY_CRON = "15 2 * * *"
DEFAULT_API = "http://127.0.0.1:4200/api"  # where `prefect server start` listens


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str
    active: bool


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of the transfer flow, as plain data (what ``prefect.yaml`` says)."""

    name: str
    description: str
    queue: str
    tags: list[str]
    parameters: dict[str, Any]
    job_variables: dict[str, Any]
    schedules: list[Schedule] = field(default_factory=list)
    concurrency_limit: int | None = None


def env_settings(job: Job) -> dict[str, str | None]:
    """Every environment variable the job reads when it runs, with its default (None: none)."""
    source, target = job.source, job.target
    password, auth = (
        Env(name) if name else None for name in (source.password_env, target.auth_env)
    )
    found: dict[str, str | None] = {}
    for value in [*source.db.values(), password, target.url, auth, *dict(target.headers).values()]:
        if isinstance(value, Env):
            found.setdefault(value.name, value.default)
    return found


def env_names(job: Job) -> list[str]:
    """The names of the variables the job reads (what a deployment may carry)."""
    return list(env_settings(job))


def missing_env(job: Job, environ: dict[str, str] | None = None) -> list[str]:
    """Variables without a value here (one whose ``Env`` has a default counts as set)."""
    environ = dict(os.environ) if environ is None else environ
    return [n for n, default in env_settings(job).items() if not environ.get(n) and default is None]


def deployment_specs(
    job: Job,
    folder: Path,
    cron: str | None = None,
    timezone: str | None = None,
    enable: bool = False,
) -> list[DeploymentSpec]:
    """The job's nightly, run and backfill deployments, as prefect.yaml writes the bundled ones."""
    env = {"DB2API_JOBS_PATH": str(folder)}
    if names := env_names(job):
        env["DB2API_NEEDS_ENV"] = ",".join(names)
    variables = {"env": env}
    parameters = {"job": job.name}
    base = ["db2api", f"job:{job.name}"]
    schedule = Schedule(cron or NIGHTLY_CRON, timezone or job.timezone, enable)
    state = "" if enable else " (schedule paused: `db2api deploy --enable` to switch it on)"
    return [
        DeploymentSpec(
            name=f"nightly-{job.name}",
            description=f"Job {job.name} every night from its watermark{state}.",
            queue="nightly",
            tags=[*base, "nightly"],
            parameters=parameters,
            job_variables=variables,
            schedules=[schedule],
            concurrency_limit=1,
        ),
        DeploymentSpec(
            name=f"run-{job.name}",
            description=f"Run job {job.name} by hand (from the UI: Run, Custom run).",
            queue="nightly",
            tags=[*base, "manual"],
            parameters=parameters,
            job_variables=variables,
        ),
        DeploymentSpec(
            name=f"backfill-{job.name}",
            description=f"Backfill parts of job {job.name} (submitted by `db2api backfill`).",
            queue="backfill",
            tags=[*base, "backfill"],
            parameters=parameters,
            job_variables=variables,
        ),
    ]


def api_url() -> str:
    """The Prefect API this process talks to (the default local server when none is set)."""
    return str(PREFECT_API_URL.value() or DEFAULT_API)


async def check_server(client: Any, url: str) -> None:
    failed = await client.api_healthcheck()
    if failed is not None:
        raise ServerError(
            f"no Prefect server answers at {url} ({type(failed).__name__}): start one with "
            "`prefect server start` or set PREFECT_API_URL to yours"
        )


async def deploy_job(
    name: str, cron: str | None = None, timezone: str | None = None, enable: bool = False
) -> list[DeploymentSpec]:
    """Create or update the job's three deployments on the configured server."""
    job = load_job(name)
    folder = (Path(name) if name.endswith(".py") else job_files()[name]).resolve().parent
    if missing := missing_env(job):
        raise JobError(
            f"job {job.name!r} reads {', '.join(missing)}, not set here: export "
            f"{'it' if len(missing) == 1 else 'them'} where you deploy and on the workers' "
            "machines (a deployment carries the names, never the values)"
        )
    specs = deployment_specs(job, folder, cron, timezone, enable)
    for schedule in specs[0].schedules:
        check_schedule(schedule)
    # Never Prefect's ephemeral server: a deployment there would vanish with this process.
    with jobs_path(folder), temporary_settings(updates={PREFECT_API_URL: api_url()}):
        await apply_specs(specs)
    return specs


def check_schedule(schedule: Schedule) -> None:
    """The nightly schedule as Prefect will take it, or one line naming the fix."""
    zone(schedule.timezone)  # unknown timezone 'X': use an IANA name such as …
    try:
        CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    except ValidationError:
        raise RangeError(
            f"--nightly {schedule.cron!r} is not a cron expression: give five fields, "
            "minute hour day-of-month month day-of-week, e.g. '15 2 * * *'"
        ) from None


@contextmanager
def jobs_path(folder: Path) -> Iterator[None]:
    """Put the job's folder first in DB2API_JOBS_PATH while the flow is imported.

    The deployment's parameter schema (the UI's ``job`` dropdown) is built from the
    jobs this process finds, so the deployed job must be among them.
    """
    before = os.environ.get("DB2API_JOBS_PATH")
    os.environ["DB2API_JOBS_PATH"] = os.pathsep.join(filter(None, [str(folder), before]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DB2API_JOBS_PATH", None)
        else:
            os.environ["DB2API_JOBS_PATH"] = before


async def apply_specs(specs: list[DeploymentSpec], pool: str = POOL) -> None:
    url = api_url()
    async with get_client() as client:
        await check_server(client, url)
        try:
            await client.read_work_pool(pool)
        except ObjectNotFound:
            raise ServerError(
                f"work pool {pool!r} does not exist on {url}: create it and its queues with "
                "`python deployments/setup.py`"
            ) from None
    flow = import_transfer()
    for spec in specs:
        deployment = RunnerDeployment.from_flow(
            flow,
            name=spec.name,
            description=spec.description,
            parameters=spec.parameters,
            tags=spec.tags,
            schedules=[Cron(s.cron, timezone=s.timezone, active=s.active) for s in spec.schedules]
            or None,
            concurrency_limit=spec.concurrency_limit,
            work_pool_name=pool,
            work_queue_name=spec.queue,
            job_variables=spec.job_variables,
        )
        deployment.entrypoint = ENTRYPOINT  # relative to the project folder, as in prefect.yaml
        deployment.storage = LocalStorage(str(ROOT))  # pull step: set_working_directory
        await deployment.aapply(schedules=None)


def import_transfer() -> Any:
    """The flow, imported afresh so its ``job`` Enum lists the jobs found now."""
    module = sys.modules.get("flows.transfer")
    module = importlib.reload(module) if module else importlib.import_module("flows.transfer")
    return module.transfer
