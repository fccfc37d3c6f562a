"""One process, no worker, no work pool: serve every job's nightly schedule.

For small setups: `python deployments/serve.py` runs until stopped and executes
the scheduled runs itself (and manual runs started from the UI). It needs a
Prefect server (PREFECT_API_URL) to keep the schedule and the history. Note that
stopping it with SIGTERM pauses its deployments in Prefect.
"""

from __future__ import annotations

from prefect import serve

from db2api.catalog import job_names, load_job
from flows.transfer import transfer

# Per job: (cron, timezone). Jobs not listed serve without a schedule (manual runs only).
NIGHTLY = {"sensors": ("15 2 * * *", "Europe/London")}


def main() -> None:
    deployments = []
    for name in job_names():
        job = load_job(name)
        cron, tz = NIGHTLY.get(name, (None, job.timezone))
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
