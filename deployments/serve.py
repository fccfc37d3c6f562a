"""One process, no worker, no work pool: serve every job's nightly schedule.

For small setups: `python deployments/serve.py` runs until stopped and executes
the scheduled runs itself (and manual runs started from the UI). It needs a
Prefect server (PREFECT_API_URL) to keep the schedule and the history. Note that
stopping it with SIGTERM pauses its deployments in Prefect.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import serve

from db2api.run.catalog import job_names, load_job
from flows.transfer import transfer

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"


def nightly_schedules(path: Path = PREFECT_YAML) -> dict[str, tuple[str, str]]:
    """Per job, (cron, timezone) of its active nightly schedule, read from prefect.yaml.

    One place says when a job runs, whether it is served or deployed. Jobs without an
    active nightly schedule there are served for manual runs only.
    """
    found: dict[str, tuple[str, str]] = {}
    for deployment in yaml.safe_load(path.read_text())["deployments"]:
        if not deployment["name"].startswith("nightly-"):
            continue
        for schedule in deployment.get("schedules") or []:
            if schedule.get("active", True):
                job = deployment["parameters"]["job"]
                found[job] = (schedule["cron"], schedule.get("timezone", "UTC"))
    return found


def main() -> None:
    deployments = []
    nightly = nightly_schedules()
    for name in job_names():
        job = load_job(name)
        cron, tz = nightly.get(name, (None, job.timezone))
        deployments.append(
            transfer.to_deployment(
                name=f"serve-{name}",
                parameters={"job": name},
                cron=cron,
                timezone=tz if cron else None,
                tags=["db2api", f"job:{name}"],
                concurrency_limit=1,
            )
        )
    serve(*deployments)


if __name__ == "__main__":
    main()
