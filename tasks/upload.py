"""The upload task: one chunk of documents through the run's sink.

The sink already retries each document; Prefect's retries are the outer safety
net for the unexpected (a bug, a dropped event loop callback), and re-sending a
whole chunk is safe because document ids make every write idempotent. Chunks are
never hashed or cached (``NO_CACHE``), and the window task passes the sink and the
chunk wrapped in ``opaque``: Prefect does not walk a chunk's documents, twice per
task run, looking for futures.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import opaque

from db2api.errors import Db2apiError
from db2api.records.document import Chunk
from db2api.targets import DocumentSink, Outcome


class Parcel:
    """A chunk lent to one upload task run, let go of once the target has it.

    Prefect keeps a task run's parameters in its run context, and every callback
    scheduled during the run copies that context: a cancelled timer (a request's
    timeout) stays in the event loop's schedule until its time would have come. A
    chunk passed as a parameter outlived its upload that way: a dozen chunks' worth
    of documents stayed alive under the flow, each full garbage collection walked
    them, and it cost more client CPU per window the more rows a window held. The
    context keeps this parcel instead, emptied after a successful send (a retry
    still finds the chunk). Its number and rows stay for the task run's name.
    """

    __slots__ = ("chunk", "number", "rows")

    def __init__(self, chunk: Chunk) -> None:
        self.chunk: Chunk | None = chunk
        self.number = chunk.number
        self.rows = chunk.rows


async def is_worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Retry unexpected errors only: ours already say retrying will not help."""
    error = await state.aresult(raise_on_failure=False)
    return not isinstance(error, Db2apiError)


@task(
    name="upload-chunk",
    task_run_name="chunk {chunk.number} ({chunk.rows} rows)",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=is_worth_retrying,
)
async def upload_chunk_task(sink: DocumentSink, chunk: Parcel) -> Outcome:
    lent = chunk.chunk
    if lent is None:  # sent already: a second call would send nothing and count nothing
        raise RuntimeError(f"chunk {chunk.number} was delivered already")
    outcome = await sink.send(lent.documents, lent.prepared)
    chunk.chunk = None
    return outcome


async def upload_chunk(sink: DocumentSink, chunk: Chunk) -> Outcome:
    """One chunk as an ``upload-chunk`` task run, its sink and documents not walked."""
    return await upload_chunk_task(opaque(sink), opaque(Parcel(chunk)))
