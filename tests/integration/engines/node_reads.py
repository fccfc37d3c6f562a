"""What a real node holds, asked of the node itself: counts after a refresh, ids by ``_mget``.

The engine tests never take db2api's own report as the proof of delivery; these
helpers read the node directly with ``requests`` (a client db2api does not use).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from tests.support.search_nodes import SearchNode

MGET_BATCH = 2000


def refreshed_count(node: SearchNode, index: str) -> int:
    """Documents in ``index`` once everything written so far is searchable."""
    requests.post(f"{node.url}/{index}/_refresh", timeout=60).raise_for_status()
    answer = requests.get(f"{node.url}/{index}/_count", timeout=60)
    answer.raise_for_status()
    return int(answer.json()["count"])


def count_now(node: SearchNode, index: str) -> int:
    """The searchable count without forcing a refresh; 0 while the index does not exist
    or its shard is not active yet (404, 503 ``no_shard_available_action_exception``)."""
    answer = requests.get(f"{node.url}/{index}/_count", timeout=10)
    if answer.status_code in (404, 503):
        return 0
    answer.raise_for_status()
    return int(answer.json()["count"])


def held_ids(node: SearchNode, index: str, ids: Iterable[str], batch: int = MGET_BATCH) -> set[str]:
    """Which of ``ids`` the node holds (``_mget`` reads in real time, no refresh needed);
    ``batch`` ids a request, fewer for a node with a small ``http.max_content_length``."""
    wanted = list(ids)
    found: set[str] = set()
    for start in range(0, len(wanted), batch):
        answer = requests.post(
            f"{node.url}/{index}/_mget",
            params={"_source": "false"},
            json={"ids": wanted[start : start + batch]},
            timeout=60,
        )
        answer.raise_for_status()
        found |= {doc["_id"] for doc in answer.json()["docs"] if doc.get("found")}
    return found


def write_rejections(node: SearchNode) -> int:
    """The node's write thread pool rejections since it started (``_nodes/stats``)."""
    answer = requests.get(f"{node.url}/_nodes/_local/stats/thread_pool", timeout=30)
    answer.raise_for_status()
    (stats,) = answer.json()["nodes"].values()
    return int(stats["thread_pool"]["write"]["rejected"])


def create_index(node: SearchNode, index: str, body: dict[str, Any] | None = None) -> None:
    answer = requests.put(f"{node.url}/{index}", json=body or {}, timeout=60)
    assert answer.status_code == 200, answer.text


@contextmanager
def own_index(node: SearchNode, prefix: str) -> Iterator[str]:
    """A fresh index name for one test; the index is deleted when the test ends."""
    index = f"{prefix}-{uuid.uuid4().hex[:8]}"
    try:
        yield index
    finally:
        if node.is_running:
            requests.delete(f"{node.url}/{index}", timeout=60)
