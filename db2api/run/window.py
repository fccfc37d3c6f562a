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

from db2api.errors import (
    JobError,
    OutputError,
    SourceError,
    SourceLost,
    TargetError,
    TooManyDeadLetters,
    WindowIncomplete,
    first_error,
)
from db2api.job import Job
from db2api.read.extract import iter_window_chunks
from db2api.records.deadletters import dead_letter_folder
from db2api.records.document import Chunk
from db2api.records.resolutions import resolve_delivered
from db2api.records.windows import Window, split
from db2api.run.report import RunSummary, WindowReport, summarise
from db2api.run.runtime import Runtime, open_runtime
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


Emit = Callable[[str], Awaitable[None]]


async def heartbeat(runtime: Runtime, emit: Emit, every: float = 10.0) -> None:
    """Say how the run is doing every ``every`` seconds, windows finished or not.

    Under faults a window can take minutes; the figures so far and the breaker's
    state ("waiting for target since …") show that the run is alive, and why it
    is slow. Runs until cancelled.
    """
    while True:
        await asyncio.sleep(every)
        breaker = getattr(runtime.sink, "breaker", None)
        retries = getattr(runtime.sink, "retries", None)  # live: a send may still be waiting
        await emit(runtime.tally.line(breaker.state() if breaker else "", retries))


def has_letters(runtime: Runtime) -> bool:
    """Whether this job ever wrote dead letters (a dry run resolves nothing)."""
    return not isinstance(runtime.sink, DrySink) and dead_letter_folder(runtime.job).is_dir()


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


RunOne = Callable[[Window], Awaitable[WindowReport]]
OnDone = Callable[[WindowReport], Awaitable[None]]


def is_fatal(error: BaseException) -> bool:
    """Errors every later window would hit too: stop instead of repeating them."""
    stops = TargetError | JobError | SourceError | OutputError | TooManyDeadLetters
    return isinstance(error, stops) and not isinstance(error, SourceLost)


async def run_windows(
    windows: list[Window], run_one: RunOne, concurrency: int = 1, on_done: OnDone | None = None
) -> tuple[list[WindowReport], Exception | None]:
    """Run windows (``concurrency`` at a time), in order of their start.

    A window that fails does not stop the others, unless its error is fatal; then
    windows not yet started are reported as not run. Returns the reports in window
    order and the fatal error (None if none).
    """
    slots = asyncio.Semaphore(concurrency)
    reports: dict[Window, WindowReport] = {}
    fatal: Exception | None = None

    async def one(window: Window) -> None:
        nonlocal fatal
        async with slots:
            if fatal:
                reports[window] = WindowReport(window.key, error="not run: the run stopped")
                return
            try:
                reports[window] = await run_one(window)
            except WindowIncomplete as exc:
                report = exc.report if isinstance(exc.report, WindowReport) else None
                reports[window] = report or WindowReport(window.key, error=str(exc))
            except Exception as exc:
                # What the window had read before it failed, when the error carries it.
                report = getattr(exc, "partial_report", None)
                if not isinstance(report, WindowReport):
                    report = WindowReport(window.key)
                report.error = f"{type(exc).__name__}: {exc}"
                reports[window] = report
                if is_fatal(exc) and not fatal:
                    fatal = exc
            if on_done is not None:
                await on_done(reports[window])

    await asyncio.gather(*(one(window) for window in windows))
    return [reports[window] for window in windows], fatal


async def transfer_range(
    job: Job,
    start: date | datetime,
    end: date | datetime,
    label: str = "plain",
    max_delete_fraction: float | None = None,
) -> RunSummary:
    """The whole transfer without Prefect: for tests, benchmarks and embedding."""
    windows = split(start, end, job.window_length, job.timezone)
    began = time.perf_counter()
    async with open_runtime(job, label, max_delete_fraction=max_delete_fraction) as runtime:
        reports, fatal = await run_windows(
            windows, lambda window: run_window(runtime, window), job.windows_in_flight
        )
        path = str(runtime.dead_letters.path)
    summary = summarise(job, windows, reports, fatal, time.perf_counter() - began, path)
    summary.retried = getattr(runtime.sink, "retries", None)  # a send that raised counts too
    return summary
