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
async def upload_chunk_task(sink: DocumentSink, chunk: Chunk) -> Outcome:
    return await sink.send(chunk.documents, chunk.prepared)


async def upload_chunk(sink: DocumentSink, chunk: Chunk) -> Outcome:
    """One chunk as an ``upload-chunk`` task run, its sink and documents not walked."""
    return await upload_chunk_task(opaque(sink), opaque(chunk))
