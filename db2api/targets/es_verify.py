"""Completeness proof per window: ask the target what it holds, not only what it said.

In bulk mode, when the job names its ``date_field``, a finished window is checked
with ``_count`` over ``[start, end)`` on that field. Fewer documents than were
acknowledged means something acknowledged is not there: the window fails and
names the missing ids (read again from the source and looked up with ``_mget``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson

from db2api.errors import AccountingError, TargetError
from db2api.extract import iter_window_chunks
from db2api.http import Request, Response, TransportError, send
from db2api.log import run_logger
from db2api.report import WindowReport
from db2api.retry import Verdict, classify
from db2api.targets.elasticsearch import BulkSink
from db2api.windows import Window, iso

if TYPE_CHECKING:
    from db2api.runtime import Runtime

SHOWN = 20


def applies(runtime: Runtime) -> bool:
    return bool(runtime.job.date_field) and isinstance(runtime.sink, BulkSink)


async def _call(runtime: Runtime, method: str, path: str, body: object) -> dict[str, object]:
    """One checking request, retried like documents are (the target may be overloaded)."""
    sink = runtime.sink
    assert isinstance(sink, BulkSink)
    policy = runtime.job.retry
    request = Request(
        method, f"{sink.base_url}{path}", orjson.dumps(body), {"Content-Type": "application/json"}
    )
    first, attempts = time.monotonic(), 0
    while True:
        attempts += 1
        try:
            response: Response | None = await send(sink.session, request)
            last = f"HTTP {response.status}" if response else ""
        except TransportError as exc:
            response, last = None, str(exc)
        if response is not None and classify(response.status) is not Verdict.RETRY:
            break
        delay = policy.delay(attempts, None)
        if not policy.has_budget(attempts, time.monotonic() - first, delay):
            raise TargetError(f"checking the window at {method} {request.url} failed: {last}")
        await asyncio.sleep(delay)
    if response.status >= 300:
        raise TargetError(
            f"checking the window at {method} {request.url} failed with HTTP {response.status}: "
            f"{response.text[:200]}"
        )
    payload = orjson.loads(response.body)
    return payload if isinstance(payload, dict) else {}


async def count_in_window(runtime: Runtime, window: Window) -> int:
    index, field = runtime.job.target.index, runtime.job.date_field
    await _call(runtime, "POST", f"/{index}/_refresh", {})
    query = {"query": {"range": {field: {"gte": iso(window.start), "lt": iso(window.end)}}}}
    payload = await _call(runtime, "POST", f"/{index}/_count", query)
    return int(payload.get("count", 0))  # type: ignore[call-overload]


async def _iter_ids(runtime: Runtime, window: Window) -> AsyncIterator[list[str]]:
    async for chunk in iter_window_chunks(runtime.job, window, runtime.pool):
        yield [doc.id for doc in chunk.documents]


async def missing_ids(runtime: Runtime, window: Window, limit: int = SHOWN) -> list[str]:
    """Ids of the window's documents that the target does not have (the first ``limit``)."""
    missing: list[str] = []
    index = runtime.job.target.index
    async for ids in _iter_ids(runtime, window):
        for start in range(0, len(ids), 1000):
            batch = ids[start : start + 1000]
            payload = await _call(runtime, "POST", f"/{index}/_mget", {"ids": batch})
            docs = payload.get("docs")
            found = (
                {d.get("_id") for d in docs if d.get("found")} if isinstance(docs, list) else set()
            )
            missing += [doc_id for doc_id in batch if doc_id not in found]
            if len(missing) >= limit:
                return missing[:limit]
    return missing


async def verify_window(runtime: Runtime, window: Window, report: WindowReport) -> None:
    if not applies(runtime) or report.acked == 0:
        return
    held = await count_in_window(runtime, window)
    if held >= report.acked:
        if held > report.acked:
            run_logger().info(
                f"window {window}: the target holds {held - report.acked} more documents in "
                "this window than this run sent (rows deleted at the source, or other writers)"
            )
        return
    missing = await missing_ids(runtime, window)
    field = runtime.job.date_field
    if not missing:
        # Every id is there (duplicates are counted in the reader): the documents'
        # date_field does not hold the time the window was read by.
        raise AccountingError(
            f"window {window}: the target holds every acknowledged id but only {held} with "
            f"{field} in the window: check that date_field names the time the SQL selects on"
        )
    raise AccountingError(
        f"window {window}: the target holds {held} documents with {field} in the window but "
        f"{report.acked} were acknowledged; missing ids: {', '.join(missing)}"
        + (" (first 20)" if len(missing) >= SHOWN else "")
    )
