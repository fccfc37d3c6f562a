"""One node process: start, wait until ready, stop, kill, restart on the same data."""

from __future__ import annotations

import atexit
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from tests.support.search_nodes.launcher import (
    ENGINES,
    HEAP_MB,
    NODES_DIR,
    READY,
    NodeStartError,
    SettingValue,
    check_built,
    find_java,
    format_setting,
    java_command,
    last_lines,
    with_parent_death_signal,
)

_RUNNING: set[SearchNode] = set()


@atexit.register
def _stop_leftovers() -> None:
    for node in list(_RUNNING):
        node.stop(timeout=10)


class SearchNode:
    """One OpenSearch or Elasticsearch node process; see the module docstring."""

    def __init__(
        self,
        engine: str,
        data: Path,
        *,
        port: int = 0,
        settings: Mapping[str, SettingValue] | None = None,
        heap_mb: int = HEAP_MB,
        nodes_dir: Path = NODES_DIR,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown search engine {engine!r}: use one of {sorted(ENGINES)}")
        self.engine = engine
        self.version = ENGINES[engine].version
        self.data = Path(data)
        self.port = port
        self.settings: dict[str, SettingValue] = dict(settings or {})
        for key, value in self.settings.items():
            format_setting(key, value)
        self.heap_mb = heap_mb
        self.nodes_dir = nodes_dir
        self.log_path = self.data / "node.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"SearchNode({self.engine} {self.version}, port {self.port or '?'}, {state})"

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError(f"the {self.engine} node has no port yet: start() it first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 120.0) -> SearchNode:
        """Start the node and wait until HTTP answers and every primary shard is active.

        One node holds no replicas, so "yellow" with no initialising shard is as ready as a
        single node gets; the launchers make new indices 0-replica, so it is mostly green.
        """
        if self.is_running:
            raise RuntimeError(f"the {self.engine} node already runs (pid {self.pid})")
        engine = ENGINES[self.engine]
        command = java_command(
            find_java(),
            engine,
            check_built(engine, self.nodes_dir),
            self.data,
            self.port,
            self.settings,
            self.heap_mb,
        )
        self.data.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        offset = self._log.tell()
        self._process = subprocess.Popen(
            with_parent_death_signal(command),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for pytest reaches the node via stop()
        )
        _RUNNING.add(self)
        deadline = time.monotonic() + timeout
        try:
            self.port = self._wait_for_ready_line(offset, deadline)
            self._wait_for_health(deadline)
        except NodeStartError as exc:
            self.kill()
            raise NodeStartError(
                f"{exc}; last lines of {self.log_path}: {last_lines(self.log_path, start=offset)}"
            ) from None
        return self

    def _wait_for_ready_line(self, offset: int, deadline: float) -> int:
        assert self._process is not None
        while True:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                found = READY.search(log.read().decode("utf-8", "replace"))
            if found:
                return int(found.group(3))
            if self._process.poll() is not None:
                raise NodeStartError(
                    f"the {self.engine} node exited with code {self._process.returncode} "
                    "before binding HTTP"
                )
            if time.monotonic() > deadline:
                raise NodeStartError(f"the {self.engine} node did not bind HTTP in time")
            time.sleep(0.1)

    def _wait_for_health(self, deadline: float) -> None:
        status = "unanswered"
        while True:
            left = max(1, int(deadline - time.monotonic()))
            url = (
                f"{self.url}/_cluster/health?wait_for_status=yellow"
                f"&wait_for_no_initializing_shards=true&timeout={left}s"
            )
            try:
                with urllib.request.urlopen(url, timeout=left + 5) as answer:
                    health = json.load(answer)
                if not health.get("timed_out"):
                    return
                status = str(health.get("status"))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if time.monotonic() > deadline:
                    raise NodeStartError(f"{url} did not answer: {exc}") from None
            if time.monotonic() > deadline:
                raise NodeStartError(f"the {self.engine} cluster stayed {status}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the node flushes and closes), then SIGKILL if it takes over ``timeout``."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._forget()

    def kill(self) -> None:
        """SIGKILL, no flush: what a crashed or OOM-killed node leaves behind."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._forget()

    def wait(self) -> int:
        """Block until the node process exits (a foreground run); its exit code."""
        if self._process is None:
            raise RuntimeError(f"the {self.engine} node was never started")
        code = self._process.wait()
        self._forget()
        return code

    def restart(self, timeout: float = 120.0) -> SearchNode:
        """Stop if running, then start again on the same data folder and port."""
        self.stop()
        return self.start(timeout)

    def _forget(self) -> None:
        _RUNNING.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SearchNode:
        return self if self.is_running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
