"""``db2api run`` and ``db2api demo`` keep their history in one Prefect home.

Both commands run as a user would start them, from two different folders, with a
HOME of their own and no ``PREFECT_HOME``: the Prefect database must appear once,
in ``~/.prefect``, and nowhere in the folders they ran from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from db2api.receiver import ReceiverProcess

DB2API = Path(sys.executable).parent / "db2api"


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DB2API_"))}
    env.update(HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def db2api(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(DB2API), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_run_and_demo_share_one_prefect_home(
    tmp_path: Path, sqlite_source: Path, target: ReceiverProcess
) -> None:
    home, here, there = tmp_path / "home", tmp_path / "here", tmp_path / "there"
    for folder in (home, here, there):
        folder.mkdir()
    env = environment(home)
    run_env = {
        **env,
        "DB2API_DEMO_DB": str(sqlite_source),
        "DB2API_DEMO_URL": target.url,
        "DB2API_DEAD_LETTER_DIR": str(tmp_path / "dead-letters"),
    }
    db2api(["run", "demo", "--start", "2024-01-01", "--end", "2024-01-02"], here, run_env)
    databases = sorted(tmp_path.rglob("prefect.db"))
    assert databases == [home / ".prefect" / "prefect.db"]

    # The demo builds its data in ./.db2api unless it is there: a small copy keeps it short.
    (there / ".db2api").mkdir()
    shutil.copy(sqlite_source, there / ".db2api" / "demo.sqlite")
    out = db2api(["demo"], there, env)
    assert f"run history  {home / '.prefect' / 'prefect.db'} (browse it: make ui)" in out
    assert sorted(tmp_path.rglob("prefect.db")) == databases
