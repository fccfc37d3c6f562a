"""``make demo``: the whole path on one machine with nothing to set up.

SQLite demo data -> the transfer flow (through a local Prefect server whose
history stays in .db2api/prefect) -> the bundled receiver on a free loopback
port, then a check that the receiver holds exactly what was read.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from db2api import demodata
from db2api.receiver import ReceiverProcess
from db2api.runner import run_transfer

HOME = Path(".db2api")


def run_demo(
    mode: str = "bulk", build_only: bool = False, force: bool = False, home: Path = HOME
) -> int:
    home = home.resolve()
    database = home / "demo.sqlite"
    if not database.exists():
        rows = demodata.build(database)
        print(f"built {database}: {rows} readings over {demodata.DEMO_DAYS} days")
    if build_only:
        return 0
    start = demodata.DEMO_START
    end = start + timedelta(days=demodata.DEMO_DAYS)
    # Port 9200 when free: windows done by an earlier demo are cached per target URL.
    with ReceiverProcess(data=home / "receiver.sqlite", port=9200) as receiver:
        os.environ.update(
            DB2API_DEMO_DB=str(database),
            DB2API_DEMO_URL=receiver.url,
            DB2API_DEMO_MODE=mode,
            DB2API_DEAD_LETTER_DIR=str(home / "dead-letters"),
        )
        print(f"receiver listening on {receiver.url} (data in {receiver.data})")
        summary = run_transfer(
            "demo", start, end, force=force, prefect_home=home / "prefect", always_local=True
        )
        stored = receiver.count("readings")
    assert summary is not None  # an explicit range always has windows
    print(f"receiver     holds {stored} documents in index 'readings'")
    print(f"run history  {home / 'prefect' / 'prefect.db'} (browse it: make ui)")
    dead = summary.total("dead")
    print(f"dead letters {summary.dead_letter_file if dead else 'none'}")
    if not any(report.cached is False for report in summary.windows):
        print("every window was done by an earlier run; `make demo ARGS=--force` sends them again")
    return 0 if summary.ok else 1
