"""One Prefect home for every command, and a quiet local server when none is configured.

Run history and the delivered-ranges ledger live where the Prefect
server keeps its database: the server at ``PREFECT_API_URL`` when one is set, else
``prefect.db`` in :func:`prefect_home`. Every command (``run``, ``demo``,
``watermark``, ``replay``, ``make ui``) and the ``prefect`` commands of the README
agree on it, so a day the demo delivered is not sent again by the next run.

Prefect's ephemeral mode starts a server too, but prints its database and
shutdown tracebacks into the user's terminal. This starts ``prefect server
start`` on a free loopback port with its output in a log file, points this
process at it, and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from db2api.errors import Db2apiError

QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def prefect_home() -> Path:
    """``PREFECT_HOME`` when set, else ``~/.prefect``: where Prefect itself looks.

    Not a folder of the project: ``prefect server start``, ``prefect deploy`` and a
    worker read ``~/.prefect`` (and the profile in it, which may set
    ``PREFECT_API_URL``) unless told otherwise, and a home that followed the current
    folder would split the history again whenever a command ran from elsewhere.
    """
    configured = os.environ.get("PREFECT_HOME", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".prefect"


def history_location() -> str:
    """Where run history and ledgers go, in words, for the demo's last lines."""
    url = os.environ.get("PREFECT_API_URL", "").strip()
    return f"the Prefect server at {url}" if url else str(prefect_home() / "prefect.db")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    say: Callable[[str], None] | None = None,
    every: float = 5.0,
) -> None:
    began = time.monotonic()
    deadline = began + timeout
    remind = began + every
    while time.monotonic() < deadline:
        if say is not None and time.monotonic() >= remind:
            remind += every
            say(
                f"still starting the local Prefect server ({time.monotonic() - began:.0f} s so far)"
            )
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise Db2apiError(f"the local Prefect server exited early: {tail[0]} (log: {log})")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise Db2apiError(f"the local Prefect server did not start within {timeout:.0f}s (log: {log})")


@contextmanager
def server_process(
    home: Path,
    port: int | None = None,
    log: Path | None = None,
    timeout: float = 120,
    extra_env: dict[str, str] | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """Run ``prefect server start`` until the block ends; yields the API URL.

    ``say`` hears a line every 5 s while the server starts (~10 s on 2 busy cores).
    """
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = log or home / "server.log"
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    url = f"http://127.0.0.1:{port}/api"
    # The UI asks the server where its API is; without this it says port 4200.
    env.update(QUIET, PREFECT_HOME=str(home), PREFECT_UI_API_URL=url, **(extra_env or {}))
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    try:
        wait_healthy(url, process, log, timeout, say)
        yield url
    except BaseException:
        stop(process, grace=3)  # stopping because of an error or a signal: be quick
        raise
    else:
        stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Stop the server's whole process group; whatever interrupts the wait, it goes."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except BaseException:  # a timeout, or a signal arriving while we wait
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if sys.exc_info()[0] is not subprocess.TimeoutExpired:
            raise


@contextmanager
def local_prefect(
    home: Path | None = None, always: bool = False, say: Callable[[str], None] | None = None
) -> Iterator[str]:
    """Use the configured Prefect API, or a quiet local server over :func:`prefect_home`.

    ``always`` ignores a configured API (tests that need a server of their own).
    ``say`` hears one line before a local server starts: that takes ~10 s, silent.
    """
    configured = PREFECT_API_URL.value()
    if configured and not always:
        try:
            yield str(configured)
        finally:
            drain_prefect_workers()
        return
    home = home or prefect_home()
    if say is not None:
        say(f"starting a local Prefect server (history in {home})…")
    with server_process(home, say=say) as url:
        try:
            with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_HOME: str(home)}):
                yield url
        except BaseException:
            drain_prefect_workers(timeout=2)
            raise
        else:
            drain_prefect_workers()


def drain_prefect_workers(timeout: float = 10) -> None:
    """Send buffered logs and events before the server goes away, not into a closed port."""
    chatter = logging.getLogger("EventsWorker")  # "Still processing items" while draining
    level = chatter.level
    chatter.setLevel(logging.ERROR)
    try:
        for worker in (APILogWorker, EventsWorker):
            worker.drain_all(timeout=timeout)
    finally:
        chatter.setLevel(level)
