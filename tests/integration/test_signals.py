"""SIGTERM and SIGINT to `db2api run`: a clean stop, one line, nothing left behind.

`db2api run` runs as a user would start it, with no Prefect API configured, so it
starts its own local Prefect server. Once windows are uploading (the receiver has
seen requests, each held 300 ms), the signal arrives. The command must stop starting
windows, cancel those in flight, exit with 128 + the signal's number and one line,
and leave no process behind: its Prefect server included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from db2api.receiver import ReceiverProcess
from tests.support.readings import DEMO_ID, sqlite_ids

pytestmark = pytest.mark.timeout(240)
BIN = Path(sys.executable).parent
DAYS = ("2024-01-01", "2024-01-05")  # the session source: 4 days, one window each


def wait_for_requests(process: subprocess.Popen[str], rx: ReceiverProcess) -> None:
    """Until the receiver has seen an upload: a local Prefect server starts first."""
    deadline = time.monotonic() + 150
    while rx.stats()["requests"] == 0:
        if process.poll() is not None:
            pytest.fail(f"the run ended before uploading: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("the run never uploaded anything")
        time.sleep(0.2)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_run_cleanly_in_one_line(
    sqlite_source: Path, target: ReceiverProcess, tmp_path: Path, signum: signal.Signals
) -> None:
    target.set_faults(latency_ms=300)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PREFECT_API_URL", "DB2API_JOBS_PATH")
    }
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        DB2API_DEMO_DB=str(sqlite_source),
        DB2API_DEMO_URL=target.url,
        DB2API_DEMO_MODE="item",  # one request per document: the run takes minutes
        DB2API_DEAD_LETTER_DIR=str(tmp_path / "dead-letters"),
    )
    process = subprocess.Popen(
        [str(BIN / "db2api"), "run", "demo", "--start", DAYS[0], "--end", DAYS[1], "--force"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_requests(process, target)
        family = psutil.Process(process.pid).children(recursive=True)
        assert any("prefect" in " ".join(child.cmdline()) for child in family)

        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 128 + signum
    *before, last = err.strip().splitlines()
    assert last == (
        f"db2api: stopped by {signum.name}: no new windows were started and those in flight "
        "were cancelled; run the same range again to finish it (windows already done are "
        "skipped)"
    )
    # Before it, only the lines every run starts with: nothing about the stop itself.
    starts = ("local Prefect server", "Beginning flow run", "View at")
    assert all(any(part in line for part in starts) for line in before), before
    assert "Traceback" not in out + err
    _, alive = psutil.wait_procs(family, timeout=5)
    assert alive == [], "no process is left behind, the local Prefect server included"
    stored = set(target.ids("readings"))
    assert stored < sqlite_ids(sqlite_source, *DAYS, key=DEMO_ID), "it stopped before the end"
