"""Log to the Prefect run when there is one (so the UI shows it), else to ``db2api``.

The library never imports Prefect for that: :mod:`db2api.orchestration.log` installs
the Prefect half when a process runs flows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

#: Prefect's documented override for the level of its task-run logger.
TASK_RUN_LEVEL_SETTING = "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL"
TASK_RUN_LOGGER = "prefect.task_runs"


def plain_logger() -> logging.Logger:
    return logging.getLogger("db2api")


#: Where library code gets its logger. Outside Prefect: the ``db2api`` logger. Inside a
#: flow run the orchestration layer installs one that answers with the run's logger, so
#: the lines reach the run log in the UI (:mod:`db2api.orchestration.log`). A process
#: that never imported the orchestration layer never imports Prefect to find out: that
#: costs ~0.85 s of CPU and ~50 MiB (plain transfer_range, the benchmark's contestants).
_factory: Callable[[], Any] = plain_logger


def run_logger() -> Any:
    """The logger of the Prefect run going on, if any, else ``db2api``."""
    return _factory()


def use_run_loggers(factory: Callable[[], Any]) -> None:
    """Install where :func:`run_logger` gets its logger (the orchestration layer does)."""
    global _factory
    _factory = factory


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
