"""The layers below db2api.orchestration work without Prefect, and never import it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLAIN_TRANSFER = """
import asyncio, os, sys
from datetime import timedelta
from pathlib import Path

from db2api.ops import demodata
from db2api.receiver.process import ReceiverProcess
from db2api.run.catalog import load_job
from db2api.run.window import transfer_range

home = Path(sys.argv[1])
database = home / "demo.sqlite"
demodata.build(database)
with ReceiverProcess(data=home / "receiver.sqlite") as receiver:
    os.environ.update(
        DB2API_DEMO_DB=str(database),
        DB2API_DEMO_URL=receiver.url,
        DB2API_DEAD_LETTER_DIR=str(home / "dead-letters"),
    )
    start = demodata.DEMO_START
    summary = asyncio.run(transfer_range(load_job("demo"), start, start + timedelta(days=2)))
    stored = receiver.count("readings")
print(summary.ok, summary.total("acked") == stored > 0, "prefect" in sys.modules)
"""


def test_a_plain_transfer_never_imports_prefect(tmp_path: Path) -> None:
    """The layers below db2api.orchestration run a whole transfer without Prefect."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB2API_DEMO")}
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_TRANSFER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["True", "True", "False"]


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
