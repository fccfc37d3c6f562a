"""A real Prefect deployment stack for end-to-end tests: server, pool, deployments, workers.

Every process is started in its own session and its whole process group is
killed on exit, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from db2api.ops import demodata
from db2api.orchestration.prefect_server import server_process

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def today() -> date:
    return datetime.now(UTC).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, clock(0), tzinfo=UTC)


class Stack:
    """The environment shared by the test process, the CLI and the workers."""

    def __init__(self, home: Path, api_url: str, source: Path, target_url: str) -> None:
        self.home = home
        self.api_url = api_url
        self.source = source
        self.target_url = target_url
        self.logs = home / "logs"
        self.logs.mkdir(exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.home),
            PREFECT_LOCAL_STORAGE_PATH=str(self.home / "storage"),
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_PREFETCH_SECONDS="2",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DB2API_DEMO_DB=str(self.source),
            DB2API_DEMO_URL=self.target_url,
            DB2API_DEMO_MODE="bulk",
            DB2API_DEAD_LETTER_DIR=str(self.home / "dead-letters"),
        )
        return env

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command from the project folder, as a user would; raise with its output."""
        result = subprocess.run(
            list(args), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def set_watermark(self, job: str, day: date | datetime) -> None:
        """As an operator would, in a process of its own (one Prefect server per process:
        Prefect's concurrency service keeps the server it first talked to)."""
        self.run(str(BIN / "db2api"), "watermark", job, "--set", day.isoformat())

    def setup_and_deploy(self) -> None:
        self.run(str(BIN / "python"), "deployments/setup.py")
        self.run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all")

    @contextmanager
    def worker(self, name: str, limit: int = 2, storage: Path | None = None) -> Iterator[Path]:
        """A process worker on the db2api pool; yields its log file.

        ``storage``: the worker's own PREFECT_LOCAL_STORAGE_PATH, as on another machine.
        """
        log = self.logs / f"{name}.log"
        env = self.env
        if storage is not None:
            env["PREFECT_LOCAL_STORAGE_PATH"] = str(storage)
        with log.open("ab") as output:
            process = subprocess.Popen(
                [
                    str(BIN / "prefect"),
                    "worker",
                    "start",
                    "--pool",
                    "db2api",
                    "--name",
                    name,
                    "--limit",
                    str(limit),
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 60
            while "started!" not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"worker {name} did not start:\n{log.read_text()}")
                time.sleep(0.3)
            yield log
        finally:
            kill_group(process)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def prefect_stack(home: Path, target_url: str, days: int = 4) -> Iterator[Stack]:
    """A server on a free port with the pool and all deployments, and recent demo data.

    The source holds ``days`` days ending today 00:00 UTC, so runs "from the
    watermark to today" have real rows to send.
    """
    source = home / "recent.sqlite"
    demodata.build(source, today() - timedelta(days=days), days, sensors=3)
    with server_process(home, log=home / "server.log") as url:
        stack = Stack(home, url, source, target_url)
        stack.setup_and_deploy()
        yield stack
