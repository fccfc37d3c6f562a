"""What a real search node holds, asked of the node itself (never of db2api's report).

Plain ``requests`` calls over loopback, as an operator would check: ``_refresh`` then
``_count``, ``_mget`` of ids, index creation and deletion, cluster settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from tests.support.search_nodes import SearchNode

TIMEOUT = 30
MGET_CHUNK = 1000


def put_index(url: str, index: str, body: dict[str, Any] | None = None) -> None:
    answer = requests.put(f"{url}/{index}", json=body or {}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text


def delete_index(url: str, index: str) -> None:
    """Remove the index (or data stream) if it is there; a missing one is fine."""
    requests.delete(f"{url}/{index}", params={"ignore_unavailable": "true"}, timeout=TIMEOUT)


def count(url: str, index: str) -> int:
    """Documents the index holds once everything written is searchable."""
    requests.post(f"{url}/{index}/_refresh", timeout=TIMEOUT).raise_for_status()
    answer = requests.get(f"{url}/{index}/_count", timeout=TIMEOUT)
    answer.raise_for_status()
    return int(answer.json()["count"])


def count_now(url: str, index: str) -> int:
    """The searchable count without forcing a refresh; 0 while the index does not exist
    or its shard is not active yet (404, 503 ``no_shard_available_action_exception``)."""
    answer = requests.get(f"{url}/{index}/_count", timeout=10)
    if answer.status_code in (404, 503):
        return 0
    answer.raise_for_status()
    return int(answer.json()["count"])


def present_ids(url: str, index: str, ids: Iterable[str], batch: int = MGET_CHUNK) -> set[str]:
    """The ids among ``ids`` that ``_mget`` finds in the index (in real time, no refresh);
    ``batch`` ids a request, fewer for a node with a small ``http.max_content_length``."""
    wanted = list(ids)
    found: set[str] = set()
    for start in range(0, len(wanted), batch):
        answer = requests.post(
            f"{url}/{index}/_mget",
            params={"_source": "false"},
            json={"ids": wanted[start : start + batch]},
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        found |= {doc["_id"] for doc in answer.json()["docs"] if doc.get("found")}
    return found


def all_ids(url: str, index: str) -> set[str]:
    """Every id in the index (small test indices: one search of up to 10,000)."""
    requests.post(f"{url}/{index}/_refresh", timeout=TIMEOUT).raise_for_status()
    answer = requests.post(
        f"{url}/{index}/_search",
        json={"size": 10_000, "_source": False, "query": {"match_all": {}}},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    return {hit["_id"] for hit in answer.json()["hits"]["hits"]}


def put_cluster_setting(url: str, name: str, value: object) -> None:
    answer = requests.put(
        f"{url}/_cluster/settings", json={"persistent": {name: value}}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text


@contextmanager
def cluster_setting(url: str, name: str, value: object) -> Iterator[None]:
    """A persistent dynamic cluster setting for the block's duration, reset afterwards."""
    put_cluster_setting(url, name, value)
    try:
        yield
    finally:
        put_cluster_setting(url, name, None)


def bulk_requests(url: str) -> int | None:
    """``_bulk`` requests the node has answered, from Elasticsearch's per-route HTTP stats
    (8.x); None on OpenSearch 2.19, whose HTTP stats hold only connection counts."""
    answer = requests.get(f"{url}/_nodes/_local/stats/http", timeout=TIMEOUT)
    answer.raise_for_status()
    (node,) = answer.json()["nodes"].values()
    routes = node["http"].get("routes")
    if routes is None:
        return None
    return int(routes.get("/_bulk", {}).get("requests", {}).get("count", 0))


def write_rejections(url: str) -> int:
    """The node's write thread pool rejections since it started (``_nodes/stats``)."""
    answer = requests.get(f"{url}/_nodes/_local/stats/thread_pool", timeout=TIMEOUT)
    answer.raise_for_status()
    (stats,) = answer.json()["nodes"].values()
    return int(stats["thread_pool"]["write"]["rejected"])


@contextmanager
def own_index(node: SearchNode, prefix: str) -> Iterator[str]:
    """A fresh index name for one test; the index is deleted when the test ends."""
    index = f"{prefix}-{uuid.uuid4().hex[:8]}"
    try:
        yield index
    finally:
        if node.is_running:
            delete_index(node.url, index)
