"""The two halves of the physical limit, and etlhelper's default cursor for reference.

- extract-only: db2api's extraction (its connection with the server-side cursor,
  ``iter_chunks``, ``DocumentBuilder``) over the same 1-day windows, nothing sent.
  One connection serves every window: this is the reading limit, not the
  pipeline's per-window cost.
- read-path: db2api's own pipeline as a dry run over the same rows: the reader
  threads, ``windows_in_flight`` windows at once, request bodies built, nothing
  sent. What db2api spends before it sends anything: the first of P10's parts
  (:func:`bench.engine_goals.parts`).
- upload-only: the same documents built in memory first, then sent through
  db2api's ``BulkSink`` with as many chunks in flight as the pipeline allows.
- default-cursor: one window through a plain etlhelper connection, whose cursor
  loads the whole result at ``execute`` (P3's reference peak RSS).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import closing

from etlhelper import iter_chunks

from bench.jobs import pg_job
from bench.measure import Args, BenchError, Measurement, Stopwatch, timed_transfer
from bench.settings import PG_PASSWORD_ENV, START, pg_password, range_end
from db2api.job import Job
from db2api.read.build import DocumentBuilder
from db2api.read.extract import bind_parameters, connect, lazy_dict_row_factory
from db2api.records.document import Chunk, Document
from db2api.records.windows import Window, split
from db2api.run.runtime import open_runtime

NOWHERE = "http://127.0.0.1:9"  # extraction never contacts the target
CHUNKS_PER_WINDOW = 2  # run_window's chunks_in_flight default


def iter_built_chunks(job: Job, rows: int) -> Iterator[Chunk]:
    """Every chunk of the first ``rows`` rows, window by window, as db2api builds them.

    A builder per window, as the pipeline has: it checks every document's
    ``date_field`` against its window, work db2api's reader does per document.
    """
    windows = split(START, range_end(rows), job.window_length, job.timezone)
    with closing(connect(job, pg_password())) as conn:
        for window in windows:
            builder = DocumentBuilder(job, window)
            chunks = iter_chunks(
                job.sql,
                conn,
                parameters=bind_parameters(job, window),
                row_factory=lazy_dict_row_factory,
                chunk_size=job.chunk_size,
            )
            for number, rows_of_chunk in enumerate(chunks, start=1):
                yield builder.build(number, rows_of_chunk)


def extract_only(args: Args) -> Measurement:
    job = pg_job(NOWHERE)
    with Stopwatch() as watch:
        docs = sum(len(chunk.documents) for chunk in iter_built_chunks(job, args.docs))
    windows = len(split(START, range_end(args.docs), job.window_length, job.timezone))
    return Measurement(docs, watch.seconds, watch.cpu, {"windows": windows, "connections": 1})


def read_path(args: Args) -> Measurement:
    job = pg_job(NOWHERE)  # a dry run never contacts the target
    pg_password()
    return timed_transfer(job, START, range_end(args.docs), args.docs, dry_run=True)


async def send_all(job: Job, chunks: list[list[Document]], in_flight: int) -> int:
    async with open_runtime(job, "bench-upload-only") as runtime:
        slots = asyncio.Semaphore(in_flight)

        async def one(documents: list[Document]) -> int:
            async with slots:
                outcome = await runtime.sink.send(documents)
            if outcome.dead:
                raise BenchError(f"upload-only: {len(outcome.dead)} dead letters")
            return outcome.acked

        return sum(await asyncio.gather(*(one(chunk) for chunk in chunks)))


def upload_only(args: Args) -> Measurement:
    job = pg_job(args.url)
    chunks = [chunk.documents for chunk in iter_built_chunks(job, args.docs)]
    # The documents live for the whole run here, unlike in the pipeline: keep the
    # collector from walking a million of them during the timed part.
    gc.freeze()
    in_flight = CHUNKS_PER_WINDOW * getattr(job, "windows_in_flight", 1)
    with Stopwatch() as watch:
        acked = asyncio.run(send_all(job, chunks, in_flight))
    return Measurement(acked, watch.seconds, watch.cpu, {"chunks_in_flight": in_flight})


def default_cursor(args: Args) -> Measurement:
    """One window, etlhelper's default (client-side) cursor on a plain connection."""
    job = pg_job(NOWHERE)
    builder = DocumentBuilder(job)
    window = Window(START, range_end(args.docs))
    docs = 0
    pg_password()
    with Stopwatch() as watch, closing(job.source.db.connect(PG_PASSWORD_ENV)) as conn:
        chunks = iter_chunks(
            job.sql, conn, parameters=bind_parameters(job, window), chunk_size=job.chunk_size
        )
        for number, rows in enumerate(chunks, start=1):
            docs += len(builder.build(number, rows).documents)
    return Measurement(docs, watch.seconds, watch.cpu, {"windows": 1})
