"""A node's limits, met for real: a request body over ``http.max_content_length`` and a
write thread pool too small for the load.

One extra node per engine serves both tests: ``http.max_content_length`` 4 KB (both
engines start with far less, down to about 100 bytes, which only their own start-up
requests need; 4 KB leaves room for the proof's ``_mget`` of a 200-row chunk) and a
write pool of one thread with a queue of one. The overload test's batches (2 documents,
about 400 bytes) fit the body limit; the 413 test's 429s are retried like any others.
What the node holds is read from the node (``tests.support.node_reads``), never from
db2api's report.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web

from db2api.job import Row
from db2api.receiver import create_app
from db2api.receiver.faults import Faults
from db2api.receiver.store import Store
from db2api.records.deadletters import iter_dead_letters
from db2api.run.window import transfer_range
from tests.conftest import sqlite_ids
from tests.support.jobs import sqlite_job, to_document, with_target
from tests.support.node_reads import count, own_index, present_ids, write_rejections
from tests.support.search_nodes import ENGINES, SearchNode

from .conftest import start_or_skip

BODY_LIMIT = "4kb"
BODY_LIMIT_BYTES = 4096
LIMITED = {
    "http.max_content_length": BODY_LIMIT,
    "thread_pool.write.size": 1,
    "thread_pool.write.queue_size": 1,
}
DAY = ("2024-01-01", "2024-01-02")
OVERSIZE_ID = "100"
IDS_PER_MGET = 300  # about 2.5 KB of ids: under the body limit


@pytest.fixture(scope="module", params=sorted(ENGINES, reverse=True), ids=str)
def limited_node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchNode]:
    """One node per engine with a 4 KB body limit and a write pool of 1 thread, queue 1."""
    engine = request.param
    node = start_or_skip(
        SearchNode(engine, tmp_path_factory.mktemp(f"{engine}-limited"), settings=LIMITED)
    )
    yield node
    node.stop()


def bulk_body(index: str, count: int) -> str:
    lines = []
    for n in range(count):
        lines.append(json.dumps({"index": {"_index": index, "_id": f"probe-{n}"}}))
        lines.append(json.dumps({"reading_id": n, "note": "x" * 120}))
    return "\n".join(lines) + "\n"


def padded(row: Row) -> dict[str, Any]:
    """One document far over the node's body limit on its own; the others well under."""
    document = to_document(row)
    if str(row["reading_id"]) == OVERSIZE_ID:
        document["note"] = "x" * 6000
    return document


@pytest.mark.timeout(240)
async def test_a_batch_over_the_body_limit_is_split_and_one_oversize_document_dead_lettered(
    limited_node: SearchNode, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    node = limited_node
    with own_index(node, "limit-413") as index:
        # The limit really is below one batch: the node answers 413 with an empty body.
        over = requests.post(
            f"{node.url}/_bulk",
            data=bulk_body(index, 40),
            headers={"Content-Type": "application/x-ndjson"},
            timeout=30,
        )
        assert (over.status_code, over.content) == (413, b"")
        job = sqlite_job(str(sqlite_source), node.url, transform=padded, chunk_size=200)
        job = with_target(job, index=index, bulk_docs=100)
        source = sqlite_ids(sqlite_source, *DAY)
        assert OVERSIZE_ID in source

        summary = await transfer_range(job, *DAY)

        fitting = source - {OVERSIZE_ID}
        assert count(node.url, index) == len(fitting)
        assert present_ids(node.url, index, source, batch=IDS_PER_MGET) == fitting
        letters = list(iter_dead_letters(Path(summary.dead_letter_file)))
        assert [(letter["id"], letter["error"]) for letter in letters] == [
            (OVERSIZE_ID, "DocumentTooLarge")
        ]
        assert "HTTP 413" in letters[0]["reason"]
        assert "http.max_content_length" in letters[0]["reason"]
        assert summary.fatal == "" and summary.failed == []
        assert summary.total("requests") > len(source) / 100, "the batches were split"


@pytest.mark.timeout(240)
async def test_a_write_pool_of_one_rejects_with_429_and_every_rejection_is_retried(
    limited_node: SearchNode, sqlite_source: Path, dead_letter_dir: Path
) -> None:
    node = limited_node
    with own_index(node, "limit-429") as index:
        job = sqlite_job(str(sqlite_source), node.url, concurrency=16, chunk_size=200)
        job = with_target(job, index=index, bulk_docs=2)
        source = sqlite_ids(sqlite_source, *DAY)
        rejected_before = write_rejections(node.url)

        summary = await transfer_range(job, *DAY)

        rejected = write_rejections(node.url) - rejected_before
        assert rejected > 0, "the node rejected nothing: this test proved nothing"
        assert summary.total("retries") > 0
        assert count(node.url, index) == len(source)
        assert present_ids(node.url, index, source, batch=IDS_PER_MGET) == source
        assert summary.ok and summary.total("dead") == 0
        assert not dead_letter_dir.exists()
        print(
            json.dumps(
                {
                    "engine": node.engine,
                    "rejected": rejected,
                    "retries": summary.total("retries"),
                    "requests": summary.total("requests"),
                }
            )
        )


@asynccontextmanager
async def serving_receiver(data: Path, faults: Faults | None = None) -> AsyncIterator[str]:
    """The receiver in this process, on a loopback port, with the node's body limit."""
    store = Store(data)
    runner = web.AppRunner(create_app(store, faults, max_body_bytes=BODY_LIMIT_BYTES))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        store.close()


async def test_the_receiver_refuses_a_body_over_its_limit_as_the_node_does(
    limited_node: SearchNode, tmp_path: Path
) -> None:
    """413 and an empty body from both (the receiver once sent a JSON error)."""
    body = bulk_body("limit-compare", 40).encode()
    assert len(body) > BODY_LIMIT_BYTES
    answers = []
    async with (
        serving_receiver(tmp_path / "docs.sqlite") as receiver,
        aiohttp.ClientSession() as session,
    ):
        for url in (limited_node.url, receiver):
            async with session.post(
                f"{url}/_bulk", data=body, headers={"Content-Type": "application/x-ndjson"}
            ) as answer:
                answers.append((answer.status, await answer.read()))
    node_answer, receiver_answer = answers
    assert node_answer == (413, b"")
    assert receiver_answer == node_answer


async def whole_request_429(
    session: aiohttp.ClientSession, url: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """(headers, body) of the first _bulk refused whole with a 429, from rounds of 32 at once."""
    body = bulk_body("limit-compare-429", 2)

    async def one() -> tuple[int, dict[str, str], dict[str, Any]]:
        async with session.post(
            f"{url}/_bulk", data=body, headers={"Content-Type": "application/x-ndjson"}
        ) as answer:
            return answer.status, dict(answer.headers), await answer.json()

    for _ in range(10):
        for status, headers, payload in await asyncio.gather(*(one() for _ in range(32))):
            if status == 429:
                return headers, payload
    raise AssertionError(f"no whole-request 429 from {url} in 320 requests")


async def test_the_receivers_429_has_the_shape_of_the_nodes(
    limited_node: SearchNode, tmp_path: Path
) -> None:
    """Both engines refuse a _bulk whole when the write queue is full, with no Retry-After;
    the receiver (speaking as Elasticsearch) names the error as Elasticsearch does."""
    # retry_after=0: no Retry-After header (the receiver's default sends one of 1 s)
    faults = Faults(rate_429=1.0, retry_after=0)
    async with (
        serving_receiver(tmp_path / "docs.sqlite", faults) as receiver,
        aiohttp.ClientSession() as session,
    ):
        node_headers, node_body = await whole_request_429(session, limited_node.url)
        receiver_headers, receiver_body = await whole_request_429(session, receiver)
    node_type = {
        "opensearch": "rejected_execution_exception",
        "elasticsearch": "es_rejected_execution_exception",
    }[limited_node.engine]
    assert node_body["status"] == receiver_body["status"] == 429
    assert node_body["error"]["type"] == node_type
    assert receiver_body["error"]["type"] == "es_rejected_execution_exception"
    assert node_body["error"]["root_cause"][0]["type"] == node_type
    assert receiver_body["error"]["root_cause"][0]["type"] == "es_rejected_execution_exception"
    assert "Retry-After" not in node_headers
    assert "Retry-After" not in receiver_headers
