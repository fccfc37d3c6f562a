"""``make demo``: the whole path on one machine with nothing to set up.

SQLite demo data -> the transfer flow (through the same Prefect server and home
as ``db2api run``: :func:`db2api.orchestration.prefect_server.prefect_home`) -> the bundled
receiver on a free loopback port, then a check that the receiver holds exactly
what was read.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

from db2api.ops import demodata
from db2api.orchestration.local_run import run_transfer
from db2api.orchestration.prefect_server import history_location
from db2api.receiver import ReceiverProcess

HOME = Path(".db2api")
PORTS = (9200, 9299)  # the usual port, then a fixed second one: stable URL, stable ledger


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def receiver_home(home: Path) -> tuple[int, Path]:
    """The receiver's port and its own data file (two receivers never share one)."""
    for port in PORTS:
        if is_free(port):
            name = "receiver.sqlite" if port == 9200 else f"receiver-{port}.sqlite"
            return port, home / name
    return 0, home / "receiver-any-port.sqlite"


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
    port, data = receiver_home(home)
    with ReceiverProcess(data=data, port=port) as receiver:
        os.environ.update(
            DB2API_DEMO_DB=str(database),
            DB2API_DEMO_URL=receiver.url,
            DB2API_DEMO_MODE=mode,
            DB2API_DEAD_LETTER_DIR=str(home / "dead-letters"),
        )
        print(f"receiver listening on {receiver.url} (data in {receiver.data})")
        if port != 9200:
            print(
                f"port 9200 is busy: this demo's receiver uses {receiver.url} and its own file; "
                + (
                    "windows are recorded as delivered per target URL, so a demo on another "
                    "port sends them again"
                    if not port
                    else "a later demo with 9200 still busy finds its windows done"
                )
            )
        summary = run_transfer("demo", start, end, force=force)
        stored = receiver.count("readings")
    assert summary is not None  # an explicit range always has windows
    print(f"receiver     holds {stored} documents in index 'readings'")
    print(f"run history  {history_location()} (browse it: make ui)")
    dead = summary.total("dead")
    print(f"dead letters {summary.dead_letter_file if dead else 'none'}")
    if not any(report.skipped is False for report in summary.windows):
        print("every window was done by an earlier run; `make demo ARGS=--force` sends them again")
    return 0 if summary.ok else 1
