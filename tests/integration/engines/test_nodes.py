"""The real nodes themselves: what they report, a bulk round trip, a static limit, a crash.

Each test runs against OpenSearch and Elasticsearch; the nodes come from conftest.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.support.search_nodes import ENGINES, NodeStartError, SearchNode
from tests.support.search_nodes.launcher import ROOT
from tests.support.search_nodes.starting import StartSearchNode, start_or_skip

ENGINE_NAMES = sorted(ENGINES, reverse=True)
NDJSON = {"Content-Type": "application/x-ndjson"}


def bulk_body(index: str, ids: list[str], padding: int = 0) -> str:
    lines = []
    for doc_id in ids:
        lines.append(json.dumps({"index": {"_index": index, "_id": doc_id}}))
        lines.append(json.dumps({"reading": doc_id, "note": "x" * padding}))
    return "\n".join(lines) + "\n"


def bulk(node: SearchNode, index: str, ids: list[str], **params: str) -> dict[str, Any]:
    answer = requests.post(
        f"{node.url}/_bulk", data=bulk_body(index, ids), headers=NDJSON, params=params, timeout=30
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    assert body["errors"] is False, body
    return body


def found_ids(node: SearchNode, index: str, ids: list[str]) -> set[str]:
    answer = requests.post(f"{node.url}/{index}/_mget", json={"ids": ids}, timeout=30)
    answer.raise_for_status()
    return {doc["_id"] for doc in answer.json()["docs"] if doc.get("found")}


def test_the_node_reports_the_real_engine_and_version(search_node: SearchNode) -> None:
    root = requests.get(f"{search_node.url}/", timeout=10)
    health = requests.get(f"{search_node.url}/_cluster/health", timeout=10)
    local = requests.get(f"{search_node.url}/_nodes/_local", timeout=10).json()
    (node_info,) = local["nodes"].values()
    assert node_info["version"] == search_node.version
    if search_node.engine == "opensearch":
        assert root.json()["version"]["distribution"] == "opensearch"
        assert root.json()["version"]["number"] == "2.19.6"
    else:
        # rest-root (the banner) is not published on Maven Central: GET / is 405 here
        assert root.status_code == 405
        assert node_info["version"] == "8.19.21"
        assert health.headers["X-Elastic-Product"] == "Elasticsearch"
    assert health.json()["status"] == "green"


def test_bulk_then_mget_finds_every_document(search_node: SearchNode) -> None:
    ids = ["r-1", "r-2", "r-3"]
    answer = bulk(search_node, "smoke-bulk", ids)
    assert [item["index"]["status"] for item in answer["items"]] == [201, 201, 201]
    assert found_ids(search_node, "smoke-bulk", [*ids, "r-absent"]) == set(ids)
    health = requests.get(
        f"{search_node.url}/_cluster/health/smoke-bulk?wait_for_status=green&timeout=30s",
        timeout=40,
    ).json()
    assert health["status"] == "green"  # the launcher gives new indices 0 replicas


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_small_http_max_content_length_refuses_a_big_body_with_413(
    start_search_node: StartSearchNode, engine: str
) -> None:
    node = start_search_node(engine, {"http.max_content_length": "2kb"})
    small = requests.post(
        f"{node.url}/_bulk", data=bulk_body("limit", ["a"]), headers=NDJSON, timeout=30
    )
    big = requests.post(
        f"{node.url}/_bulk",
        data=bulk_body("limit", ["b"], padding=8_000),
        headers=NDJSON,
        timeout=30,
    )
    assert small.status_code == 200
    assert big.status_code == 413


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_killed_node_restarts_with_its_documents(
    start_search_node: StartSearchNode, engine: str
) -> None:
    node = start_search_node(engine)
    port, pid = node.port, node.pid
    ids = [f"kept-{n}" for n in range(20)]
    bulk(node, "durable", ids)  # acknowledged: the translog is fsynced before the answer
    node.kill()
    assert not psutil.pid_exists(pid or 0)  # stop() and kill() reap the process
    node.start()
    assert (node.port, node.pid != pid) == (port, True)
    assert found_ids(node, "durable", ids) == set(ids)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_start_that_fails_quotes_the_node_log(tmp_path: Path, engine: str) -> None:
    node = SearchNode(engine, tmp_path / "node", settings={"no.such.setting": "on"})
    with pytest.raises(NodeStartError) as failed:
        start_or_skip(node)
    message = str(failed.value)
    assert "\n" not in message
    assert "exited with code" in message
    assert "unknown setting [no.such.setting]" in message
    assert not node.is_running


STARTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.support.search_nodes import SearchNode
    node = SearchNode("opensearch", Path(sys.argv[1])).start()
    print(node.pid, flush=True)
    if sys.argv[2] == "exit":
        sys.exit(0)  # no stop(): the atexit hook must stop it
    time.sleep(600)  # killed by the test
    """
)


@pytest.mark.parametrize("ending", ["killed", "exit"])
def test_no_node_outlives_the_process_that_started_it(
    opensearch_node: SearchNode, tmp_path: Path, ending: str
) -> None:
    """opensearch_node: only to skip (or fail under CI) where no node can run."""
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path / "node"), ending],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert starter.stdout is not None
    java = psutil.Process(int(starter.stdout.readline()))
    assert java.is_running()
    if ending == "killed":
        starter.send_signal(signal.SIGKILL)
    starter.wait(timeout=60)
    deadline = time.monotonic() + 30
    while not is_gone(java) and time.monotonic() < deadline:
        time.sleep(0.2)
    survived = not is_gone(java)
    if survived:  # never leave one behind, even when the assertion fails
        java.kill()
    assert not survived


def is_gone(process: psutil.Process) -> bool:
    """Exited; a zombie counts (a container's init may be slow to reap an orphan)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
