"""The real OpenSearch and Elasticsearch nodes the engine contestants write to.

One node runs at a time (two JVMs and a contestant do not fit 2 cores fairly):
a node starts on its engine's first run and stops before the other engine's,
after the last engine run, and when the bench's ``ExitStack`` unwinds (success,
error, Ctrl-C, SIGTERM). A node that is not built, or does not start, makes its
runs "not measured" with the reason, never a crash of the whole bench.

Every run starts from the same empty index: 1 shard, 0 replicas (one node) and
``refresh_interval: -1``. Refreshing off is what both engines advise for a bulk
load, and it keeps a refresh every second from landing at a different moment in
each run; db2api's proof reads back with ``_mget``, which is real-time (Elasticsearch
refreshes the shard itself before such a GET, once per chunk: a cost the proof-on
runs pay and show in node CPU). After each run the bench refreshes once and reads
``_count``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.processes import cpu_of
from bench.settings import INDEX

SETUP = "bash .ci/setup-search-nodes"
INDEX_SETTINGS = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}
}
TIMEOUT = 120  # seconds for an index call; deleting a million documents takes a moment
HEAP_MB = 1024  # the launcher's default (512) is for tests; a million documents want more


class NodeUnavailable(Exception):
    """The engine's node cannot be used in this run: the message says why and the fix."""


def launcher() -> Any:
    """The ``SearchNode`` class of the test support (``tests/support/search_nodes``)."""
    try:
        module = importlib.import_module("tests.support.search_nodes")
    except ImportError as exc:
        raise NodeUnavailable(
            f"no search-node launcher in this checkout ({exc}): merge it, then run `{SETUP}`"
        ) from exc
    return module.SearchNode


class Nodes:
    """The one node running now, started on demand and stopped when another is wanted."""

    def __init__(self, stack: ExitStack, say: Callable[[str], None], data: Path) -> None:
        self.say = say
        self.data = data  # each node's data folder goes here: fresh for every bench run
        self.engine = ""
        self.node: Any = None
        self.refused: dict[str, str] = {}  # engine -> why it cannot run (asked once)
        stack.callback(self.stop)

    def url(self, engine: str) -> str:
        """The base URL of ``engine``'s node, started (and the other stopped) if need be."""
        if engine in self.refused:
            raise NodeUnavailable(self.refused[engine])
        if self.engine != engine:
            self.stop()
            try:
                self.start(engine)
            except NodeUnavailable as exc:
                self.refused[engine] = str(exc)
                raise
        return str(self.node.url).rstrip("/")

    def start(self, engine: str) -> None:
        node_class = launcher()
        try:
            node = node_class(engine, self.data / engine, heap_mb=HEAP_MB)
            node.start()
        except Exception as exc:
            said = " ".join(str(exc).split()) or type(exc).__name__
            hint = "" if SETUP in said else f"; is it built? run `{SETUP}`"
            raise NodeUnavailable(f"the {engine} node did not start: {said[:400]}{hint}") from exc
        self.engine, self.node = engine, node
        self.say(f"{engine}: node {node.version} up at {node.url} (heap {HEAP_MB} MiB)")

    def stop(self) -> None:
        if self.node is not None:
            node, self.node, self.engine = self.node, None, ""
            node.stop()

    @property
    def version(self) -> str:
        return str(getattr(self.node, "version", ""))

    def processes(self) -> list[psutil.Process]:
        """The node's JVM and anything it started (the launcher runs one JVM, no wrapper)."""
        pid = getattr(self.node, "pid", None)
        if not isinstance(pid, int):
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        return cpu_of(self.processes())


def call(method: str, url: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.request(method, url, json=body, timeout=TIMEOUT)


def reset_index(url: str) -> None:
    """Drop the bench index if it is there and create it empty with the same settings."""
    gone = call("DELETE", f"{url}/{INDEX}")
    if gone.status_code not in (200, 404):
        raise NodeUnavailable(f"DELETE /{INDEX} answered {gone.status_code}: {gone.text[:200]}")
    made = call("PUT", f"{url}/{INDEX}", INDEX_SETTINGS)
    if made.status_code != 200:
        raise NodeUnavailable(f"PUT /{INDEX} answered {made.status_code}: {made.text[:200]}")
    health = call("GET", f"{url}/_cluster/health/{INDEX}?wait_for_status=green&timeout=60s")
    if health.status_code != 200 or health.json().get("status") != "green":
        raise NodeUnavailable(f"index {INDEX} did not become green: {health.text[:200]}")


def stored(url: str) -> int:
    """The documents the index holds, after a refresh makes every write countable."""
    refreshed = call("POST", f"{url}/{INDEX}/_refresh")
    refreshed.raise_for_status()
    counted = call("GET", f"{url}/{INDEX}/_count")
    counted.raise_for_status()
    return int(counted.json()["count"])
