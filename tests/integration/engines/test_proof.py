"""The _bulk sink's _mget proof against real nodes: what the receiver accepts, they may not.

Both engines refuse ``_source`` beside ``ids`` in an ``_mget`` body (400 parsing_exception),
so the proof asks for no sources in the query string; a proven window must complete on
each engine.
"""

from __future__ import annotations

import orjson
import requests

from db2api.documents import Document
from db2api.http import open_session
from db2api.job import Target
from db2api.limiter import Limiter
from db2api.retry import RetryPolicy
from db2api.targets.elasticsearch import Elasticsearch
from tests.support.search_nodes import SearchNode

FAST = RetryPolicy(give_up_after=30, base_delay=0.01, max_delay=0.05)


async def test_a_proven_chunk_is_acknowledged_and_found(search_node: SearchNode) -> None:
    index = "proof"
    requests.delete(f"{search_node.url}/{index}", timeout=30)
    target = Target(url=search_node.url, index=index, bulk_docs=4, prove=True)
    documents = [Document(str(n), orjson.dumps({"n": n})) for n in range(10)]
    async with open_session(4, 10) as session:
        sink = Elasticsearch().sink(session, search_node.url, target, FAST, Limiter(4), "")
        outcome = await sink.send(documents)

    assert (outcome.acked, outcome.dead) == (10, [])
    assert not sink.unprovable  # the node answered the _mget, nothing was taken on trust
    requests.post(f"{search_node.url}/{index}/_refresh", timeout=30)
    count = requests.get(f"{search_node.url}/{index}/_count", timeout=30).json()["count"]
    assert count == 10
