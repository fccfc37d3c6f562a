"""The commands that never run a flow start without importing Prefect.

``db2api.cli.main`` builds its parser from light modules and imports a command's
handler module only once that command is chosen; importing Prefect costs about a
second here, which ``--help`` or ``db2api jobs`` should not pay. Each command runs in
a fresh interpreter (what the console script does: call ``db2api.cli:main``), which
then reports whether Prefect is in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Calls main as the console script does, then says which exit status it gave and
# whether any module of Prefect was imported on the way.
WRAPPER = """
import json, sys
from db2api.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
prefect = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
with open(sys.argv[1], "w") as report:
    json.dump({"code": code, "prefect": prefect[:3]}, report)
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(tmp_path: Path, *argv: str) -> tuple[dict, str]:
    """Run ``db2api ARGV`` in a fresh interpreter: (its report, its stdout)."""
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "DB2API_DEMO_DB": str(tmp_path / "absent.sqlite"),  # check fails fast, reads nothing
        "DB2API_DEMO_URL": f"http://127.0.0.1:{closed_port()}",  # nothing listens there
        "DB2API_DEAD_LETTER_DIR": str(tmp_path / "dead-letters"),
    }
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(report), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text()), done.stdout


LIGHT = [
    pytest.param(["--help"], 0, "usage: db2api", id="help"),
    pytest.param(["run", "--help"], 0, "usage: db2api run", id="run-help"),
    pytest.param(["jobs"], 0, "demo ", id="jobs"),
    pytest.param(["check", "demo", "--rows", "5"], 1, "source connect", id="check"),
    pytest.param(["deadletters", "demo"], 0, "0 documents open", id="deadletters"),
    pytest.param(["receiver", "--help"], 0, "usage: db2api receiver", id="receiver-help"),
]


@pytest.mark.parametrize(("argv", "status", "says"), LIGHT)
def test_a_light_command_does_not_import_prefect(
    tmp_path: Path, argv: list[str], status: int, says: str
) -> None:
    report, out = command(tmp_path, *argv)
    assert says in out, out
    assert report["code"] == status
    assert report["prefect"] == [], f"db2api {' '.join(argv)} imported Prefect"


def test_a_command_that_talks_to_prefect_still_imports_it(tmp_path: Path) -> None:
    """The other side, which also shows that the report sees Prefect when it is there."""
    report, _ = command(tmp_path, "watermark", "no-such-job")
    assert report["code"] == 2  # the job is unknown: a one-line error, after the import
    assert "prefect" in report["prefect"]


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "db2api.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: db2api")
