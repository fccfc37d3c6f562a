"""Completeness a lying target cannot pass: every acknowledged id is looked up again.

After a chunk is delivered, its acknowledged ids are asked for with ``_mget``
(``_source: false``, in batches): Elasticsearch and OpenSearch answer GETs in real
time, so no refresh is needed and no count over a range can be fooled by a
target that ignores the query. An id it does not hold fails the window, which
runs again. A target without ``_mget`` (404/405) cannot be checked this way: one
warning per run says so, and the row accounting alone stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson

from db2api.errors import AccountingError, TargetError
from db2api.log import run_logger

if TYPE_CHECKING:
    from db2api.targets.base import Outcome
    from db2api.targets.elasticsearch import BulkSink

PROOF_BATCH = 1000
SHOWN = 20


async def prove(sink: BulkSink, ids: Sequence[str], outcome: Outcome) -> None:
    """Raise :class:`AccountingError` naming the first ids the target does not hold."""
    missing: list[str] = []
    for start in range(0, len(ids), PROOF_BATCH):
        batch = list(ids[start : start + PROOF_BATCH])
        held = await _held(sink, batch, outcome)
        if held is None:
            return
        lost = [doc_id for doc_id in batch if doc_id not in held]
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
    """The ids the target has, or None when it cannot be asked (no ``_mget``)."""
    path = f"/{sink.target.index}/_mget"
    # _source goes in the query: OpenSearch 2.19 and Elasticsearch 8.19 both refuse it beside
    # "ids" in the body (400 parsing_exception "unexpected token [VALUE_BOOLEAN]").
    response = await sink.call("POST", f"{path}?_source=false", {"ids": ids}, outcome)
    if response.status in (404, 405, 501) and b"index_not_found" not in response.body:
        if not sink.unprovable:
            sink.unprovable = True
            run_logger().warning(
                f"target {sink.base_url} answers POST {path} with HTTP {response.status}: "
                "acknowledged documents cannot be proven present there, so windows rely on "
                "the row accounting alone (set target.prove=False to skip the check)"
            )
        return None
    try:
        payload = orjson.loads(response.body) if response.status < 300 else None
    except orjson.JSONDecodeError:
        payload = None
    docs = payload.get("docs") if isinstance(payload, dict) else None
    if not isinstance(docs, list):
        raise TargetError(
            f"checking delivered documents with POST {sink.base_url}{path} failed with HTTP "
            f"{response.status} ({response.text[:120]!r}): set target.prove=False if this target "
            "has no _mget"
        )
    return {str(d.get("_id")) for d in docs if isinstance(d, dict) and d.get("found")}
