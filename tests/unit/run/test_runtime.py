"""Opening a run outside Prefect: a Prefect Secret block is refused in one line."""

from __future__ import annotations

import subprocess
import sys

NO_RESOLVER = """
import asyncio, sys
from db2api.errors import JobError
from db2api.run.runtime import read_secret

try:
    asyncio.run(read_secret(None, "db2api-api-key", "API key for job 'demo'"))
except JobError as exc:
    print(exc)
print("prefect" in sys.modules)
"""


def test_a_secret_block_outside_prefect_is_refused_in_one_line() -> None:
    """Without the orchestration layer nothing can read a Prefect Secret block: say how to."""
    done = subprocess.run(
        [sys.executable, "-c", NO_RESOLVER], capture_output=True, text=True, timeout=60, check=True
    )
    refusal, imported = done.stdout.strip().splitlines()
    assert refusal.startswith("Prefect Secret block 'db2api-api-key' (API key for job 'demo')")
    assert "db2api run" in refusal and "environment variable" in refusal
    assert imported == "False"
