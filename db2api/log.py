"""Log to the Prefect run when there is one (so the UI shows it), else to ``db2api``."""

from __future__ import annotations

import logging
from typing import Any


def run_logger() -> Any:
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
