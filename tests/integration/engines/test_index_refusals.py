"""Refusals of the whole index at real nodes: the run stops after one batch with one line
naming the index, the node's words and the fix; nothing is dead-lettered.

Missing index with ``action.auto_create_index: false`` (a dynamic cluster setting, reset
after the test), ``index.blocks.write: true``, and a data stream written with ``op_type``
``index`` (then ``create`` delivers). The engines word the missing index differently:
Elasticsearch adds "and [action.auto_create_index] is [false]", OpenSearch 2.19 says only
"no such index [...]"; both are 404 ``index_not_found_exception``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from db2api.job import Job, Row
from db2api.run.report import RunSummary
from db2api.run.window import transfer_range
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_ids, postgres_job, to_document, with_target
from tests.support.node_reads import (
    all_ids,
    bulk_requests,
    cluster_setting,
    count,
    delete_index,
    put_index,
)
from tests.support.search_nodes import SearchNode

DAY = ("2024-01-01", "2024-01-02")
PASSWORD = os.environ.get(PG_PASSWORD_ENV, "db2api-test-pw")
AGAIN = "nothing was dead-lettered, the window runs again next time"
MISSING = {
    "opensearch": "no such index [{index}]",
    "elasticsearch": "no such index [{index}] and [action.auto_create_index] is [false]",
}

# Elasticsearch 8.19 adds a caused_by to the data-stream refusal (the stream is not an
# index: {"type":"index_not_found_exception","reason":"no such index [<stream>]",
# "excluded_ds":"true",...}); db2api quotes a caused_by's reason after the error's own.
CAUSE = {"opensearch": "", "elasticsearch": ": no such index [{index}]"}


def one_batch_job(params: dict[str, Any], url: str, index: str, **target: Any) -> Job:
    """One window, one request in flight, 50 documents a request: a stop is one batch."""
    job = postgres_job(params, PG_PASSWORD_ENV, url, windows_in_flight=1, concurrency=1)
    return with_target(job, index=index, bulk_docs=50, **target)


async def stopped_run(job: Job, url: str) -> RunSummary:
    """The run, checked to have sent exactly one ``_bulk`` request where the node counts
    them (Elasticsearch; OpenSearch keeps no per-route counts, and the same stop is counted
    at the receiver in tests/integration/test_bad_input.py)."""
    before = bulk_requests(url)
    summary = await transfer_range(job, *DAY)
    after = bulk_requests(url)
    if before is not None and after is not None:
        assert after - before == 1, "stopped after one batch of the window's twelve"
    return summary


def assert_stopped(summary: RunSummary, line: str, dead_letter_dir: Path) -> None:
    assert summary.fatal == line
    assert summary.total("acked") == 0 and summary.total("dead") == 0
    assert not dead_letter_dir.exists(), "nothing dead-lettered"


async def test_a_missing_index_with_auto_create_off_stops_the_run(
    search_node: SearchNode, postgres_source: dict[str, Any], dead_letter_dir: Path
) -> None:
    url, index = search_node.url, f"engines-missing-{search_node.engine}"
    delete_index(url, index)
    job = one_batch_job(postgres_source, url, index)

    with cluster_setting(url, "action.auto_create_index", False):
        summary = await stopped_run(job, url)
        missing = requests.get(f"{url}/{index}", timeout=30)

    reason = MISSING[search_node.engine].format(index=index)
    assert_stopped(
        summary,
        f"index {index} at {url} refused writes: HTTP 404 index_not_found_exception: {reason}: "
        f"create the index {index} (or an index template that matches it) before sending, or "
        f"allow the cluster to create it (action.auto_create_index); {AGAIN}",
        dead_letter_dir,
    )
    assert missing.status_code == 404, "the node created nothing"


async def test_a_write_block_stops_the_run(
    search_node: SearchNode, postgres_source: dict[str, Any], dead_letter_dir: Path
) -> None:
    url, index = search_node.url, f"engines-blocked-{search_node.engine}"
    delete_index(url, index)
    put_index(url, index, {"settings": {"index.blocks.write": True}})

    summary = await stopped_run(one_batch_job(postgres_source, url, index), url)

    assert_stopped(
        summary,
        f"index {index} at {url} refused writes: HTTP 403 cluster_block_exception: index "
        f"[{index}] blocked by: [FORBIDDEN/8/index write (api)];: {index} has a write block: "
        f"remove index.blocks.write when writes may resume; {AGAIN}",
        dead_letter_dir,
    )
    assert count(url, index) == 0
    delete_index(url, index)


def stamped(row: Row) -> dict[str, Any]:
    """A data stream needs ``@timestamp`` in every document."""
    document = to_document(row)
    return {**document, "@timestamp": document["measured_at"]}


async def test_a_data_stream_refuses_index_and_takes_create(
    search_node: SearchNode, postgres_source: dict[str, Any], dead_letter_dir: Path
) -> None:
    """Both Maven-built nodes take data-stream writes (the Elasticsearch one lacks the
    data-streams module, so ``GET``/``DELETE /_data_stream`` answer 405 there and the stream
    stays until the session's node stops). Neither engine answers ``_mget`` on a data stream
    (``index_not_found_exception`` with ``excluded_ds``): the proof searches its ids instead."""
    url, stream = search_node.url, f"engines-stream-{search_node.engine}"
    template = requests.put(
        f"{url}/_index_template/{stream}",
        json={
            "index_patterns": [stream],
            "data_stream": {},
            "template": {
                "settings": {"number_of_replicas": 0},  # else yellow on one node
                "mappings": {"properties": {"@timestamp": {"type": "date"}}},
            },
        },
        timeout=30,
    )
    assert template.status_code == 200, template.text
    job = replace(one_batch_job(postgres_source, url, stream), transform=stamped)

    refused = await stopped_run(job, url)

    cause = CAUSE[search_node.engine].format(index=stream)

    assert_stopped(
        refused,
        f"index {stream} at {url} refused writes: HTTP 400 illegal_argument_exception: only "
        f"write ops with an op_type of create are allowed in data streams{cause}: {stream} is "
        f"a data "
        f"stream, which only takes create: set target.op_type='create'; {AGAIN}",
        dead_letter_dir,
    )

    created = await transfer_range(with_target(job, op_type="create"), *DAY)

    expected = postgres_ids(postgres_source, PASSWORD, *DAY)
    assert created.ok and created.total("acked") == len(expected) == 576
    assert all_ids(url, stream) == expected, "by search: a data stream has no GET by id"
    assert count(url, stream) == len(expected)
    health = requests.get(f"{url}/_cluster/health", params={"timeout": "10s"}, timeout=20)
    assert health.json()["status"] == "green", "the stream's indices have no replica to wait for"
    if search_node.engine == "opensearch":
        requests.delete(f"{url}/_data_stream/{stream}", timeout=30).raise_for_status()
    requests.delete(f"{url}/_index_template/{stream}", timeout=30)
