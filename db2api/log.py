"""Log to the Prefect run when there is one (so the UI shows it), else to ``db2api``."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

#: Prefect's documented override for the level of its task-run logger.
TASK_RUN_LEVEL_SETTING = "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL"
TASK_RUN_LOGGER = "prefect.task_runs"


def run_logger() -> Any:
    if "prefect" not in sys.modules:
        # No Prefect run can be going on in a process that never imported Prefect, and
        # importing it to find that out costs ~0.85 s of CPU and ~50 MiB (plain
        # transfer_range, the benchmark's contestants).
        return logging.getLogger("db2api")
    try:
        from prefect import get_run_logger
        from prefect.exceptions import MissingContextError

        try:
            return get_run_logger()
        except MissingContextError:
            pass
    except ImportError:  # pragma: no cover - prefect is a dependency
        pass
    return logging.getLogger("db2api")


def quiet_task_runs(environ: Mapping[str, str] = os.environ) -> None:
    """Keep task runs' warnings and errors, drop their INFO lines.

    Every task run logs "Finished in state Completed()" at INFO: two lines per
    window, each rendered on the console and shipped to the API, which made up a
    quarter of what a task run costs. The UI shows every task run's state
    anyway, and the flow's own lines (``prefect.flow_runs``) stay at INFO.
    Setting ``PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL`` (Prefect applies
    it itself) or ``PREFECT_LOGGING_LEVEL=DEBUG`` keeps Prefect's own choice.
    """
    if environ.get(TASK_RUN_LEVEL_SETTING):
        return
    if environ.get("PREFECT_LOGGING_LEVEL", "").strip().upper() == "DEBUG":
        return
    logger = logging.getLogger(TASK_RUN_LOGGER)
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
