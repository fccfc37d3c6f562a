"""The ``replay`` flow: send a dead-letter file's documents again, as a Prefect run.

Thin on purpose: the library's :func:`db2api.run.resend.replay` does the work. The run
says where it sends before it sends, and carries tags that link it to the run
that wrote the file (``from-run:<first 8 characters of its id>``, as in the
file's name) and to the job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_client, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

import db2api.orchestration  # noqa: F401 - run log lines and Secret blocks go through Prefect
from db2api.errors import Db2apiError
from db2api.run.resend import job_of, read_letters, replay
from db2api.scrub import install_log_scrubbing


def replay_run_name() -> str:
    return f"replay {Path(str(flow_run.parameters.get('file'))).name}"


def source_run(path: Path) -> str:
    """The run label in a dead-letter file's name, ``<time>_<run>.jsonl``."""
    return path.stem.partition("_")[2] or path.stem


@flow(name="replay", flow_run_name=replay_run_name, log_prints=False)
async def replay_dead_letters(file: str, job: str | None = None) -> State:
    """Send the documents of a dead-letter file again, after the target or job was fixed.

    Args:
        file: Path of the dead-letter file (.jsonl) on the machine that runs this flow,
            e.g. dead-letters/demo/20240105T021503Z_3f2a1b7c.jsonl.
        job: The job to send with. Leave empty for the job named in the file.
    """
    install_log_scrubbing()
    logger = get_run_logger()
    path = Path(file)

    def say(line: str) -> None:
        """Where it sends, in the run's log and on the console that started it."""
        logger.info(line)
        print(line, flush=True)

    try:
        name = job_of(path, read_letters(path), job)
        await tag_run([f"from-run:{source_run(path)}", *([f"job:{name}"] if name else [])])
        report = await replay(path, job, announce=say, by=f"replay {flow_run.id}"[:15])
    except Db2apiError as exc:
        logger.error(str(exc))
        return Failed(message=str(exc))
    for line in report.lines():
        logger.info(line)
    data: dict[str, Any] = {"report": report}
    if report.failed or report.carried:
        return Failed(message="; ".join(report.lines()), data=data)
    return Completed(message=report.lines()[0], data=data)


async def tag_run(tags: list[str]) -> None:
    if not flow_run.id:
        return
    async with get_client() as client:
        run = await client.read_flow_run(flow_run.id)
        merged = sorted({*run.tags, *tags})
        await client.update_flow_run(flow_run.id, tags=merged)
