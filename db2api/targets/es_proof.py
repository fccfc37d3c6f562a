"""Completeness a lying target cannot pass: every acknowledged id is looked up again.

After a chunk is delivered, its acknowledged ids are asked for with ``_mget``
(``_source: false``): Elasticsearch and OpenSearch answer GETs in real time, so no
refresh has to be asked for and no count over a range can be fooled by a target
that ignores the query. An id it does not hold fails the window, which runs again.
A target without ``_mget`` (404/405) cannot be checked this way: one warning per
run says so, and the row accounting alone stands.

A chunk's ids go in one request (up to :data:`PROOF_BATCH`): a real-time GET of a
document written since the last refresh makes Elasticsearch refresh the shard first
(``refreshIfNeeded("realtime_get")`` in its ``InternalEngine``), so every request
costs the node a refresh and a small segment to merge later; one request per chunk
is one refresh, where batches of 1,000 were three for a 2,740-row chunk. The answer
is cut to what is read (``filter_path``): a third of the bytes to send and parse.
Measured on Elasticsearch 8.19 (``bench``, medians of 3 rounds): what the proof adds
to the node's CPU per document fell from 76 % to 48 % of a proof-off run's.

A data stream takes no GET by id: Elasticsearch 8 and OpenSearch 2 answer every ``_mget``
entry with ``index_not_found_exception`` marked ``"excluded_ds": "true"``. Its ids are
then looked for with an ``ids`` search after a ``_refresh`` (search is near-real-time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from db2api.errors import AccountingError, TargetError
from db2api.log import run_logger
from db2api.targets.answers import joined_ids, listed

if TYPE_CHECKING:
    from db2api.targets.base import Outcome
    from db2api.targets.elasticsearch import BulkSink
    from db2api.transport.http import Response

PROOF_BATCH = 10_000  # ids per _mget: a default chunk (5,000) in one request
# What _held reads of an _mget answer; an error about the whole request keeps its fields.
PROOF_FIELDS = "filter_path=docs._id,docs.found,docs.error,error,status"
SHOWN = 20
NOT_GZIPPED = {"Accept-Encoding": "identity"}


async def prove(sink: BulkSink, ids: Sequence[str], outcome: Outcome) -> None:
    """Raise :class:`AccountingError` naming the first ids the target does not hold."""
    missing: list[str] = []
    for start in range(0, len(ids), PROOF_BATCH):
        batch = list(ids[start : start + PROOF_BATCH])
        held = await _held(sink, batch, outcome)
        if held is None:
            return
        lost = [] if held.issuperset(batch) else [d for d in batch if d not in held]
        outcome.proven += len(batch) - len(lost)
        missing += lost
    if missing:
        shown = ", ".join(missing[:SHOWN]) + (f" (first {SHOWN})" if len(missing) > SHOWN else "")
        raise AccountingError(
            f"the target at {sink.base_url} acknowledged {len(missing)} documents of index "
            f"{sink.target.index} that it does not hold (missing ids: {shown}): the window is "
            "not complete and runs again next time"
        )


async def _held(sink: BulkSink, ids: list[str], outcome: Outcome) -> set[str] | None:
    """The ids the target has, or None when it cannot be asked (no ``_mget``).

    A document answered with an ``error`` instead of ``found`` is neither held nor
    missing: a node restarted after a crash answers ``no_shard_available_action_exception``
    for every id until its shard is active again, while ``_bulk`` already waits for it.
    Those ids are asked again through the sink's retry loop, so only ``give_up_after``
    without an answer stops the run.
    """
    held: set[str] = set()
    provable = True

    async def attempt(pending: list[str], attempts: int) -> tuple[list[str] | None, None]:
        nonlocal provable
        response = await _ask(sink, pending, outcome)
        if response is None:
            provable = False
            return None, None
        if response.status == 200 and is_all_found(response.body, pending):
            held.update(pending)
            return None, None
        docs = _docs(sink, response)
        if _all_found(docs, pending):
            held.update(pending)
            return None, None
        if docs and all(_excludes_data_stream(d) for d in docs):
            held.update(await _searched(sink, pending, outcome))
            return None, None
        held.update(str(d.get("_id")) for d in docs if isinstance(d, dict) and d.get("found"))
        unanswered = [str(d.get("_id")) for d in docs if isinstance(d, dict) and d.get("error")]
        if unanswered:
            sink.breaker.stalled("_mget item error")
            sink.count_retry(outcome)
            return unanswered, None
        if attempts > 1:
            sink.breaker.progressed()
        return None, None

    await sink.retrying(ids, attempt)
    return held if provable else None


async def _ask(sink: BulkSink, ids: list[str], outcome: Outcome) -> Response | None:
    """One ``_mget`` answer, or None when the target has no ``_mget``."""
    # _source goes in the query: OpenSearch 2.19 and Elasticsearch 8.19 both refuse it beside
    # "ids" in the body (400 parsing_exception "unexpected token [VALUE_BOOLEAN]").
    query = f"?_source=false&{PROOF_FIELDS}"
    path = f"/{sink.target.index}/_mget"
    # identity: the answer is cut to two fields an id; gzipping it cost the node CPU and
    # db2api a decompress per chunk.
    response = await sink.call("POST", f"{path}{query}", {"ids": ids}, outcome, NOT_GZIPPED)
    if response.status in (404, 405, 501) and b"index_not_found" not in response.body:
        if not sink.unprovable:
            sink.unprovable = True
            run_logger().warning(
                f"target {sink.base_url} answers POST {path} with HTTP {response.status}: "
                "acknowledged documents cannot be proven present there, so windows rely on "
                "the row accounting alone (set target.prove=False to skip the check)"
            )
        return None
    return response


def _docs(sink: BulkSink, response: Response) -> list[object]:
    """The ``docs`` of an ``_mget`` answer, read entry by entry."""
    docs = listed(response, "docs")
    if docs is None:
        raise TargetError(
            f"checking delivered documents with POST {sink.base_url}/{sink.target.index}/_mget "
            f"failed with HTTP {response.status} ({response.text[:120]!r}): set "
            "target.prove=False if this target has no _mget"
        )
    return docs


def is_all_found(body: bytes, ids: list[str]) -> bool:
    """Whether ``body`` is, byte for byte, the answer both engines give under
    :data:`PROOF_FIELDS` when every id asked for is found, in the order asked.

    The common answer, compared as bytes (as :func:`es_bulk.is_success_answer` does the
    ``_bulk`` one): read into dicts, it cost a third of the proof's CPU and as much again
    in garbage collection. Any other answer is read entry by entry.
    """
    found = b',"found":true}'
    entries = joined_ids(ids, found + b',{"_id":')
    return entries is not None and body == b'{"docs":[{"_id":' + entries + found + b"]}"


def _all_found(docs: list[object], ids: list[str]) -> bool:
    """The common answer, checked in C-speed passes: every id asked for found, in order.

    Anything else (an id missing or in error, another order, an odd shape) is read
    entry by entry.
    """
    try:
        return [doc["_id"] for doc in docs if doc["found"] is True] == ids  # type: ignore[index]
    except (KeyError, TypeError):
        return False


def _excludes_data_stream(doc: object) -> bool:
    """An ``_mget`` entry refused because the index is a data stream (no GET by id)."""
    error = doc.get("error") if isinstance(doc, dict) else None
    return isinstance(error, dict) and str(error.get("excluded_ds")).lower() == "true"


async def _searched(sink: BulkSink, ids: list[str], outcome: Outcome) -> set[str]:
    """The ids a data stream holds, by search once a refresh made every write visible."""
    path = f"/{sink.target.index}"
    await sink.call("POST", f"{path}/_refresh", None, outcome)
    query = {"size": len(ids), "_source": False, "query": {"ids": {"values": ids}}}
    response = await sink.call("POST", f"{path}/_search", query, outcome)
    hits = listed(response, "hits", "hits")
    if hits is None:
        raise TargetError(
            f"checking delivered documents of data stream {sink.target.index} with POST "
            f"{sink.base_url}{path}/_search failed with HTTP {response.status} "
            f"({response.text[:120]!r}): set target.prove=False if this target cannot search"
        )
    return {str(hit.get("_id")) for hit in hits if isinstance(hit, dict)}
