"""Task runs log warnings and errors only, unless the user asked Prefect for more."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from db2api.log import TASK_RUN_LEVEL_SETTING, TASK_RUN_LOGGER, quiet_task_runs


@pytest.fixture
def task_run_logger() -> Iterator[logging.Logger]:
    logger, parent = logging.getLogger(TASK_RUN_LOGGER), logging.getLogger("prefect")
    kept = logger.level, parent.level
    logger.setLevel(logging.NOTSET)
    parent.setLevel(logging.INFO)  # Prefect's default
    yield logger
    logger.setLevel(kept[0])
    parent.setLevel(kept[1])


@pytest.mark.parametrize(
    ("environ", "info_kept"),
    [
        ({}, False),
        ({"PREFECT_LOGGING_LEVEL": "INFO"}, False),
        ({TASK_RUN_LEVEL_SETTING: "INFO"}, True),
        ({"PREFECT_LOGGING_LEVEL": "debug"}, True),
    ],
)
def test_task_run_info_lines_are_dropped_unless_asked_for(
    task_run_logger: logging.Logger, environ: dict[str, str], info_kept: bool
) -> None:
    quiet_task_runs(environ)
    assert task_run_logger.isEnabledFor(logging.INFO) is info_kept
    assert task_run_logger.isEnabledFor(logging.WARNING)
    assert logging.getLogger("prefect.flow_runs").isEnabledFor(logging.INFO)


def test_outside_prefect_the_logger_does_not_import_prefect() -> None:
    """A plain transfer_range in a process without Prefect must not pay for importing it."""
    probe = (
        "import sys; from db2api.log import run_logger; "
        "print(run_logger().name, 'prefect' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["db2api", "False"]
