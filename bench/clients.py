"""What a Python user writes instead of db2api, and the engine's own ceiling.

- ``helpers.streaming_bulk`` / ``helpers.parallel_bulk`` of the engine's official
  client (``opensearch-py`` for OpenSearch, ``elasticsearch`` 8.x for Elasticsearch)
  over the recipe's etlhelper rows: the same query, the same documents (the job's
  transform, datetimes as ISO text as db2api's JSON writes them), ``_id`` =
  ``reading_id``, ``chunk_size`` = db2api's bulk cap and ``parallel_bulk``'s
  ``thread_count`` = db2api's bulk concurrency, both read from the same job.
  ``raise_on_error`` stays on, so a refused document fails the run.
- ceiling: the same documents as ``_bulk`` NDJSON bodies built before the clock
  starts, posted with aiohttp, ``in_flight`` requests at a time: no extraction, no
  serialisation, the least a client can do; what the node itself can take here. It
  asks for the least answer too (``filter_path=errors``, not gzipped): the node would
  otherwise spend on a ceiling's answers more than db2api makes it spend on its own.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson

from bench.jobs import pg_job
from bench.measure import Args, BenchError, Measurement, Stopwatch
from bench.recipe import iter_recipe_chunks
from bench.settings import INDEX

REQUEST_TIMEOUT = 120  # seconds; the clients' 10 s default is not what is measured here
HEADERS = {"Content-Type": "application/x-ndjson", "Accept-Encoding": "identity"}
LEAST_ANSWER = "filter_path=errors"  # the one field refused() reads


def bulk_shape(url: str) -> tuple[int, int, int]:
    """db2api's bulk cap (documents, bytes) and bulk concurrency, from the bench's job."""
    job = pg_job(url)
    assert job.concurrency is not None  # the job fills its default in
    return job.target.bulk_docs, job.target.bulk_bytes, job.concurrency


def client(engine: str, url: str) -> Any:
    """The engine's official client, as its documentation shows it, against ``url``."""
    if engine == "opensearch":
        from opensearchpy import OpenSearch

        return OpenSearch(hosts=[url], timeout=REQUEST_TIMEOUT)
    if engine == "elasticsearch":
        from elasticsearch import Elasticsearch

        return Elasticsearch(url, request_timeout=REQUEST_TIMEOUT)
    raise BenchError(f"no official client for engine {engine!r}: use opensearch or elasticsearch")


def helpers_of(engine: str) -> Any:
    if engine == "opensearch":
        from opensearchpy import helpers
    else:
        from elasticsearch import helpers
    return helpers


def actions(rows: int) -> Iterator[dict[str, Any]]:
    """The recipe's rows as bulk actions: one index action per document, id = reading_id."""
    for chunk in iter_recipe_chunks(rows):
        for document in chunk:
            yield {"_index": INDEX, "_id": str(document["reading_id"]), "_source": document}


def helper(args: Args, parallel: bool) -> Measurement:
    """``streaming_bulk`` or ``parallel_bulk`` over the first ``args.docs`` rows."""
    bulk_docs, bulk_bytes, concurrency = bulk_shape(args.url)
    es = client(args.engine, args.url)
    helpers = helpers_of(args.engine)
    options: dict[str, Any] = {
        "chunk_size": bulk_docs,
        "max_chunk_bytes": bulk_bytes,
        "raise_on_error": True,
    }
    if parallel:
        options["thread_count"] = concurrency
    stream = helpers.parallel_bulk if parallel else helpers.streaming_bulk
    sent = 0
    with Stopwatch() as watch:
        for ok, item in stream(es, actions(args.docs), **options):
            if not ok:  # raise_on_error raises first; kept so a refusal can never count
                raise BenchError(f"refused: {item}")
            sent += 1
    es.close()
    extra = {"chunk_size": bulk_docs, "threads": concurrency if parallel else 1}
    return Measurement(sent, watch.seconds, watch.cpu, extra)


def bodies(rows: int, bulk_docs: int) -> list[bytes]:
    """The ``_bulk`` NDJSON bodies of the first ``rows`` documents, ``bulk_docs`` each."""
    built: list[bytes] = []
    lines: list[bytes] = []
    for action in actions(rows):
        lines.append(orjson.dumps({"index": {"_index": INDEX, "_id": action["_id"]}}))
        lines.append(orjson.dumps(action["_source"]))
        if len(lines) == 2 * bulk_docs:
            built.append(b"\n".join(lines) + b"\n")
            lines = []
    if lines:
        built.append(b"\n".join(lines) + b"\n")
    return built


def refused(answer: bytes) -> bool:
    """Whether a ``_bulk`` answer reports an error; the cheap look first, the parse if unsure.

    Both engines put ``"errors":false`` in the answer's first few fields; only when it is
    not there is the whole answer read.
    """
    if b'"errors":false' in answer[:200]:
        return False
    return bool(orjson.loads(answer).get("errors", True))


async def post_all(url: str, payloads: list[bytes], in_flight: int) -> int:
    connector = aiohttp.TCPConnector(limit=in_flight)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        slots = asyncio.Semaphore(in_flight)

        async def one(payload: bytes) -> None:
            async with (
                slots,
                session.post(
                    f"{url}/_bulk?{LEAST_ANSWER}", data=payload, headers=HEADERS
                ) as answer,
            ):
                body = await answer.read()
                if answer.status >= 300 or refused(body):
                    raise BenchError(f"_bulk answered {answer.status}: {body[:300]!r}")

        await asyncio.gather(*(one(payload) for payload in payloads))
    return len(payloads)


def ceiling(args: Args, in_flight: int) -> Measurement:
    bulk_docs, _, _ = bulk_shape(args.url)
    payloads = bodies(args.docs, bulk_docs)
    gc.freeze()  # the bodies live for the whole run: the collector need not walk them
    with Stopwatch() as watch:
        asyncio.run(post_all(args.url, payloads, in_flight))
    extra = {"in_flight": in_flight, "requests": len(payloads), "chunk_size": bulk_docs}
    return Measurement(args.docs, watch.seconds, watch.cpu, extra)
