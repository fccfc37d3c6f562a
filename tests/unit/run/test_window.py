"""Progress while windows run: the figures so far and the breaker's state."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from db2api.run.runtime import Tally
from db2api.run.transfer import heartbeat
from db2api.transport.breaker import Breaker


async def test_the_heartbeat_says_the_figures_so_far_and_when_the_target_went_away():
    tally = Tally()
    tally.rows, tally.acked, tally.dead, tally.retries = 12000, 11500, 3, 120
    breaker = Breaker("http://es:9200", give_up_after=300, opens_after=1)
    # The sink's own count is live: a send still waiting on the target has not returned yet.
    runtime = SimpleNamespace(tally=tally, sink=SimpleNamespace(breaker=breaker, retries=125))
    lines: list[str] = []

    async def emit(line: str) -> None:
        lines.append(line)
        if len(lines) == 1:
            breaker.failed("connection")

    ticker = asyncio.create_task(heartbeat(runtime, emit, every=0.01))
    while len(lines) < 2:
        await asyncio.sleep(0.01)
    ticker.cancel()

    assert lines[0] == (
        "so far: 12,000 rows read, 11,500 acknowledged, 3 dead letters, 125 retries"
    )
    assert lines[1].startswith(
        "so far: 12,000 rows read, 11,500 acknowledged, 3 dead letters, 125 retries; "
        "waiting for target since "
    )


def test_a_dry_run_heartbeat_says_would_be_sent():
    tally = Tally(dry_run=True)
    tally.rows, tally.acked = 10, 9

    assert tally.line() == "so far: 10 rows read, 9 would be sent (dry run)"
    assert Tally().line() == "so far: 0 rows read, 0 acknowledged, 0 dead letters, 0 retries"


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
