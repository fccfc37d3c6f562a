"""The Prefect half of :mod:`db2api.log`: library lines go to the run log in the UI.

Library modules call :func:`db2api.log.run_logger`; once this module is imported (the
orchestration package does it), that answers with Prefect's run logger inside a flow or
task run, so warnings about a target or a proof appear with the run, and with the plain
``db2api`` logger anywhere else.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from db2api.log import plain_logger, use_run_loggers


def prefect_run_logger() -> Any:
    try:
        return get_run_logger()
    except MissingContextError:
        return plain_logger()


def install() -> None:
    use_run_loggers(prefect_run_logger)
