"""Run the transfer flow in this process, against the configured or a local Prefect."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect.flows import load_flow_from_entrypoint

from db2api.errors import Db2apiError
from db2api.orchestration.prefect_server import local_prefect
from db2api.records.windows import split
from db2api.run.catalog import load_job
from db2api.run.interrupt import STOPPING, stop_on_signals
from db2api.run.report import RunSummary
from db2api.run.resend import read_letters
from db2api.run.runtime import check_settings
from db2api.scrub import install_log_scrubbing
from db2api.targets.es_reconcile import check_override


class _FlowLinesOnly(logging.Filter):
    """Console shows flow-level lines and warnings; the Prefect API still gets everything."""

    def filter(self, record: logging.LogRecord) -> bool:
        if STOPPING.is_set():  # a signal stops the run: its one line says it all
            return False
        return record.levelno >= logging.WARNING or record.name == "prefect.flow_runs"


def quiet_console() -> None:
    for name in ("prefect", ""):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and not any(
                isinstance(f, _FlowLinesOnly) for f in handler.filters
            ):
                handler.addFilter(_FlowLinesOnly())


def job_name(job: str) -> str:
    """Accept a path to a job file by adding its folder to the job search path."""
    if not job.endswith(".py"):
        return job
    path = Path(job).resolve()
    if not path.is_file():
        raise Db2apiError(f"job file {job} does not exist")
    folders = [
        str(path.parent),
        *filter(None, os.environ.get("DB2API_JOBS_PATH", "").split(os.pathsep)),
    ]
    os.environ["DB2API_JOBS_PATH"] = os.pathsep.join(folders)
    return path.stem


TRANSFER = "flows.transfer:transfer"  # the flows prefect.yaml deploys
REPLAY = "flows.replay:replay_dead_letters"


def load_flow(entrypoint: str) -> Any:
    """The flow a deployment runs, found by its entrypoint as a worker finds it."""
    return load_flow_from_entrypoint(entrypoint)


def range_parameters(
    start: date | datetime | None, end: date | datetime | None
) -> dict[str, date | datetime | None]:
    """Days go to ``start``/``end``, exact moments to ``start_at``/``end_at``."""
    parameters: dict[str, date | datetime | None] = {}
    for name, value in (("start", start), ("end", end)):
        exact = isinstance(value, datetime)
        parameters[f"{name}_at" if exact else name] = value
    return parameters


def run_transfer(
    job: str,
    start: date | datetime | None,
    end: date | datetime | None,
    force: bool = False,
    dry_run: bool = False,
    prefect_home: Path | None = None,
    echo: bool = True,
    always_local: bool = False,
    max_delete_fraction: float | None = None,
) -> RunSummary | None:
    """Run the flow here; returns its summary, or None when there was nothing to do.

    SIGTERM or SIGINT stops it: no new windows, those in flight cancelled, the local
    Prefect server stopped, then :class:`~db2api.run.interrupt.Interrupted` is raised.
    """
    with stop_on_signals() as stop:
        name = job_name(job)
        spec = load_job(name)  # a bad job or range fails here, before a server starts
        if start is not None and end is not None:
            split(start, end, spec.window_length, spec.timezone)
        if max_delete_fraction is not None:
            check_override(max_delete_fraction)
        check_settings(spec)
        say = (lambda line: print(line, file=sys.stderr, flush=True)) if echo else None
        with local_prefect(prefect_home, always=always_local, say=say):
            transfer = load_flow(TRANSFER)
            quiet_console()
            install_log_scrubbing()
            state = stop.run(
                lambda: transfer(  # type: ignore[no-any-return]
                    job=name,
                    **range_parameters(start, end),
                    force=force,
                    dry_run=dry_run,
                    max_delete_fraction=max_delete_fraction,
                    return_state=True,
                )
            )
            data: Any = state.result(raise_on_failure=False)
    summary = data.get("summary") if isinstance(data, dict) else None
    if summary is None:
        if state.is_completed():
            if echo:
                print(state.message, flush=True)
            return None
        raise Db2apiError(state.message or f"the run ended {state.name}")
    if echo:
        print("\n".join(summary.lines()), flush=True)
        if summary.dry_run:
            for report in summary.windows:
                if report.delete_note:
                    print(f"{report.window}  {report.delete_note}")
            for report in summary.windows[:1]:
                for sample in report.samples[:2]:
                    print(f"sample       {json.dumps(sample, default=str)[:300]}")
        if not state.is_completed():
            print(f"run failed: {state.message}", flush=True)
    return summary


def run_replay(file: Path, job: str | None = None) -> Any:
    """Run the replay flow here; returns its :class:`~db2api.run.resend.ReplayReport`."""
    read_letters(file)  # a missing or damaged file fails here, before a server starts
    with local_prefect():
        replay = load_flow(REPLAY)
        quiet_console()
        install_log_scrubbing()
        state = asyncio.run(replay(file=str(file), job=job, return_state=True))
        data: Any = state.result(raise_on_failure=False)
    report = data.get("report") if isinstance(data, dict) else None
    if report is None:
        raise Db2apiError(state.message or f"the replay ended {state.name}")
    return report
