"""A local Prefect server that is slow to start is not a silent wait."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from db2api.errors import Db2apiError
from db2api.orchestration.prefect_server import free_port, wait_healthy


def test_waiting_for_the_server_says_it_is_still_starting(tmp_path: Path) -> None:
    # A live process that never answers /health: the wait runs to its timeout.
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    said: list[str] = []
    try:
        with pytest.raises(Db2apiError, match="did not start within"):
            wait_healthy(
                f"http://127.0.0.1:{free_port()}/api",
                process,
                tmp_path / "server.log",
                timeout=1.5,
                say=said.append,
                every=0.2,
            )
    finally:
        process.kill()
        process.wait()

    assert said, "a reminder while the server starts"
    assert all(line.startswith("still starting the local Prefect server (") for line in said)
