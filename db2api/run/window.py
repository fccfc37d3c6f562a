"""One window, end to end, as a plain async function.

Extraction runs ahead in its thread while up to ``chunks_in_flight`` chunks upload,
so the database never waits for the API and the API never waits for the
database (the recipe's per-chunk stall). ``upload`` is injectable: the Prefect
layer passes a retried task, tests and benchmarks pass ``runtime.sink.send``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime

from db2api.errors import RangeError, TooManyDeadLetters, first_error
from db2api.job import Job
from db2api.read.extract import iter_window_chunks
from db2api.records.deadletters import dead_letter_folder
from db2api.records.document import Chunk
from db2api.records.resolutions import resolve_delivered
from db2api.records.windows import Window
from db2api.run.plain import LogProgress, MemoryLedger
from db2api.run.report import RunSummary, WindowReport
from db2api.run.runtime import Runtime
from db2api.run.transfer import Pieces, transfer
from db2api.targets import Outcome
from db2api.write.dryrun import DrySink

Upload = Callable[[Chunk], Awaitable[Outcome]]


async def run_window(
    runtime: Runtime,
    window: Window,
    upload: Upload | None = None,
    chunks_in_flight: int = 2,
) -> WindowReport:
    job = runtime.job
    send: Upload = upload or (lambda chunk: runtime.sink.send(chunk.documents, chunk.prepared))
    report = WindowReport(window=window.key, dry_run=isinstance(runtime.sink, DrySink))
    tally = runtime.tally
    started = time.perf_counter()
    slots = asyncio.Semaphore(chunks_in_flight)
    reconciler = runtime.reconciler
    # The window's ids, to find what the source no longer returns: only when reconciling.
    source_ids: set[str] | None = set() if reconciler is not None else None
    # Ids delivered, to resolve earlier dead letters: only when the job has any.
    delivered: list[str] | None = [] if has_letters(runtime) else None

    async def deliver(chunk: Chunk) -> None:
        try:
            outcome = await send(chunk)
            # What the target acknowledged is counted before the letters are written, so
            # it stays in the summary even if they cannot be (the window then fails).
            tally.acked += outcome.acked
            tally.retries += outcome.retries
            report.acked += outcome.acked - resent_and_acked(chunk, outcome)
            if delivered is not None:
                delivered.extend(outcome.acked_ids)
            report.present += outcome.present
            report.proven += outcome.proven
            report.retries += outcome.retries
            report.requests += outcome.requests
            report.bytes += outcome.bytes
            report.samples.extend(outcome.samples[: max(0, 3 - len(report.samples))])
            runtime.dead_letters.write(window.key, outcome.dead)
            tally.dead += len(outcome.dead)
            report.dead += len(outcome.dead)
        finally:
            slots.release()

    try:
        async with asyncio.TaskGroup() as group:
            async for chunk in iter_window_chunks(job, window, runtime.pool):
                report.rows += chunk.rows
                report.duplicates += chunk.duplicates
                if source_ids is not None:
                    source_ids.update(doc.id for doc in chunk.documents)
                runtime.dead_letters.write(window.key, chunk.rejects)
                report.dead += len(chunk.rejects)
                tally.rows += chunk.rows
                tally.dead += len(chunk.rejects)
                await slots.acquire()
                group.create_task(deliver(chunk))
        report.seconds = time.perf_counter() - started
        report.check()
        check_dead_fraction(runtime, report)
        if reconciler is not None and source_ids is not None and not report.dead:
            report.deleted, report.delete_note = await reconciler.reconcile(
                window, source_ids, report.rows
            )
            report.seconds = time.perf_counter() - started
        if delivered:
            await resolve_letters(runtime, window, delivered)
    except BaseExceptionGroup as group_error:
        error = first_error(group_error)
        error.partial_report = report  # type: ignore[attr-defined]
        raise error from None
    except Exception as error:
        # The failed window's figures so far, for the run summary (not for accounting).
        error.partial_report = report  # type: ignore[attr-defined]
        raise
    return report


def check_dead_fraction(runtime: Runtime, report: WindowReport) -> None:
    """Stop the run after a window past the job's ``max_dead_fraction`` (letters are kept)."""
    limit = runtime.job.max_dead_fraction
    if limit is None or not report.rows or report.dead <= limit * report.rows:
        return
    raise TooManyDeadLetters(
        f"window {report.window}: {report.dead} of {report.rows} rows were dead-lettered "
        f"({report.dead / report.rows:.0%}), more than the job's max_dead_fraction {limit}: the "
        f"run stopped; the letters are in {runtime.dead_letters.path}: fix the data, the "
        "transform or the index mapping (or raise max_dead_fraction) and run again"
    )


def has_letters(runtime: Runtime) -> bool:
    """Whether delivered ids may resolve dead letters: earlier runs' or this run's.

    A dry run resolves nothing.
    """
    if isinstance(runtime.sink, DrySink):
        return False
    return runtime.had_letters or runtime.dead_letters.count > 0


async def resolve_letters(runtime: Runtime, window: Window, ids: list[str]) -> int:
    """Ids a window delivered resolve the dead letters earlier runs wrote for them."""
    folder = dead_letter_folder(runtime.job)
    by = f"window {window.key} of {runtime.dead_letters.path.name}"
    return await asyncio.to_thread(resolve_delivered, runtime.job.name, ids, by, folder=folder)


def resent_and_acked(chunk: Chunk, outcome: Outcome) -> int:
    """Ids an earlier chunk already delivered, acknowledged again: counted as duplicates."""
    if not chunk.repeated:
        return 0
    refused = {letter.id for letter in outcome.dead}
    return sum(1 for doc_id in chunk.repeated if doc_id not in refused)


async def plain_window(
    runtime: Runtime, window: Window, force: bool, dry_run: bool, is_open: bool
) -> WindowReport:
    """The loop's window runner without Prefect: the window, in place (no task, no retry)."""
    return await run_window(runtime, window)


async def transfer_range(
    job: Job,
    start: date | datetime,
    end: date | datetime,
    label: str = "plain",
    max_delete_fraction: float | None = None,
    dry_run: bool = False,
) -> RunSummary:
    """The whole transfer without Prefect: for tests, benchmarks and embedding.

    The same loop as the ``transfer`` flow (:func:`db2api.run.transfer.transfer`)
    with a ledger in memory (a fresh one: nothing is skipped) and progress in the log.
    A dry run reads and builds everything and sends nothing (the bench's read path).
    """
    pieces = Pieces(ledger=MemoryLedger, progress=LogProgress.start, run_window=plain_window)
    result = await transfer(
        job,
        start,
        end,
        pieces,
        label=label,
        max_delete_fraction=max_delete_fraction,
        dry_run=dry_run,
    )
    if result.exception is not None:
        raise result.exception
    if result.summary is None:
        raise RangeError(result.error or result.note or f"no window in [{start}, {end})")
    return result.summary
