"""A PostgreSQL range through bulk mode with the _mget proof, checked at the real node.

Every id the source holds must be at the node (``_mget``), the node's ``_count`` must equal
the rows, and the node's own get statistics show that the proof asked for every id. The
Elasticsearch node answers 405 to ``GET /`` (no rest-root module on Maven Central): the same
run passing there shows that nothing in a transfer depends on the root banner.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests

from db2api.run.window import transfer_range
from tests.conftest import PG_PASSWORD_ENV
from tests.support.jobs import postgres_ids, postgres_job, with_target
from tests.support.node_reads import count, delete_index, present_ids
from tests.support.search_nodes import SearchNode

START, END = "2024-01-01", "2024-01-05"  # 4 days x 6 sensors x 96 readings = 2,304 rows
PASSWORD = os.environ.get(PG_PASSWORD_ENV, "db2api-test-pw")


def gets_served(url: str, index: str) -> int:
    """Realtime gets the index's shards served (every _mget item counts one)."""
    stats = requests.get(f"{url}/{index}/_stats/get", timeout=30).json()
    return int(stats["_all"]["primaries"]["get"]["total"])


async def test_every_row_of_a_postgres_range_is_at_the_node_and_proven(
    search_node: SearchNode, postgres_source: dict[str, Any], dead_letter_dir: Path
) -> None:
    index = f"engines-proof-{search_node.engine}"
    delete_index(search_node.url, index)
    job = postgres_job(postgres_source, PG_PASSWORD_ENV, search_node.url)
    job = with_target(job, index=index, prove=True)
    expected = postgres_ids(postgres_source, PASSWORD, START, END)
    assert len(expected) == 2304

    summary = await transfer_range(job, START, END)

    proof_gets = gets_served(search_node.url, index)  # before this test's own _mget
    assert present_ids(search_node.url, index, expected) == expected
    assert count(search_node.url, index) == len(expected)
    assert summary.ok and summary.total("rows") == summary.total("acked") == len(expected)
    assert proof_gets >= len(expected), "the proof read every id back"
    assert not dead_letter_dir.exists()
    delete_index(search_node.url, index)


async def test_nothing_in_a_run_asks_for_the_root_banner(
    search_node: SearchNode, postgres_source: dict[str, Any], dead_letter_dir: Path
) -> None:
    """db2api never calls ``GET /`` (no product or version sniffing): the Maven-built
    Elasticsearch answers it 405, OpenSearch 200, and a proven run works on both."""
    root = requests.get(f"{search_node.url}/", timeout=10)
    assert root.status_code == (405 if search_node.engine == "elasticsearch" else 200)
    index = f"engines-no-root-{search_node.engine}"
    delete_index(search_node.url, index)
    job = with_target(
        postgres_job(postgres_source, PG_PASSWORD_ENV, search_node.url), index=index, prove=True
    )
    expected = postgres_ids(postgres_source, PASSWORD, START, "2024-01-02")

    summary = await transfer_range(job, START, "2024-01-02")

    assert summary.ok and summary.fatal == ""
    assert present_ids(search_node.url, index, expected) == expected
    assert count(search_node.url, index) == len(expected) == 576
    delete_index(search_node.url, index)
