"""The one transfer loop: every run of a job goes through it, with Prefect or without.

plan -> skip what the ledger says is delivered -> run windows (``windows_in_flight``
at a time) -> record the complete, closed ones -> summarise. The rules live here
once; what differs between the ``transfer`` flow, :func:`db2api.run.window.transfer_range`
(tests, the bench's plain contestants, embedding) and a unit test is only the pieces
passed in: where the ledger lives (:class:`RunLedger`), where progress goes
(:class:`RunProgress`) and what runs one window (:data:`WindowRunner`: a Prefect task
or plain :func:`db2api.run.window.run_window`). So the bench's plain path is the
flow's path without Prefect, not a different program.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from db2api.errors import (
    Db2apiError,
    JobError,
    OutputError,
    SourceError,
    SourceLost,
    TargetError,
    TooManyDeadLetters,
    WindowIncomplete,
)
from db2api.job import Job, resolve
from db2api.records.ledger import Ledger, delivery_key
from db2api.records.windows import Window, iso, to_moment, zone
from db2api.run.catalog import load_job
from db2api.run.heap import frozen_heap
from db2api.run.planning import is_complete, plan
from db2api.run.report import RunSummary, WindowReport, summarise
from db2api.run.runtime import Runtime, open_runtime
from db2api.scrub import SCRUBBER


class RunLedger(Protocol):
    """The job's ledger of delivered windows, as one run uses it.

    Built per run for one delivery key (job + target); ``add`` must not wait for a
    server (a server-side ledger batches its changes and journals each window on this
    machine at once: :mod:`db2api.records.journal`), ``flush`` records the rest and
    never raises: what it could not record, ``unrecorded_note`` says (the run fails).
    """

    async def read(self) -> Ledger: ...
    def is_delivered(self, window: Window) -> bool: ...
    def add(self, window: Window) -> None: ...
    def hold(self) -> None: ...  # every window left is running: the rest goes in one change
    async def flush(self) -> Ledger | None: ...
    def waiting(self) -> int: ...
    def unrecorded_note(self) -> str: ...


# (job, delivery key, target in words) -> the run's ledger
OpenLedger = Callable[[Job, str, str], RunLedger]


class RunProgress(Protocol):
    """Where people see the run move: a log, a progress artifact."""

    def update(self, report: WindowReport) -> None: ...
    async def tick(self, line: str) -> None: ...
    async def finish(self, summary: RunSummary) -> None: ...


# (job name, windows, logger) -> the run's progress
StartProgress = Callable[[str, int, Any], Awaitable[RunProgress]]
# (runtime, window, force, dry_run, is_open) -> the window's report
WindowRunner = Callable[[Runtime, Window, bool, bool, bool], Awaitable[WindowReport]]
OpenRuntime = Callable[[Job, str, bool, float | None], AbstractAsyncContextManager[Runtime]]
# Says a long step at the end (the ledger's last change) while it runs.
Announce = Callable[[str, Awaitable[Any], Callable[[str], None]], Awaitable[Any]]


@dataclass
class RunResult:
    """What a run did: its summary (None: nothing to run, or it could not start)."""

    summary: RunSummary | None
    note: str = ""  # why nothing was done, or what was left out
    error: str = ""  # the run could not start (bad job, bad range, ledger unreadable)
    exception: Db2apiError | None = None  # the error itself, for callers that raise it


@dataclass
class Pieces:
    """What the caller plugs into the loop (see the module's docstring)."""

    ledger: OpenLedger
    progress: StartProgress
    run_window: WindowRunner
    announce: Announce | None = None
    rename: Callable[[str], Awaitable[None]] | None = None  # the run's name, once planned
    # the summary, where people read it (artifacts): written with the progress's last word
    publish: Callable[[RunSummary], Awaitable[None]] | None = None
    # (job, label, dry_run, max_delete_fraction) -> the run's pool, sink and letters file
    open_runtime: OpenRuntime = open_runtime


async def transfer(
    job: Job | str,
    start: date | datetime | str | None,
    end: date | datetime | str | None,
    pieces: Pieces,
    *,
    dry_run: bool = False,
    force: bool = False,
    label: str = "plain",
    max_delete_fraction: float | None = None,
    logger: Any = None,
) -> RunResult:
    """Run one job over ``[start, end)`` (None: from its watermark / to today's start)."""
    log = logger or logging.getLogger("db2api.run")
    began = time.perf_counter()
    try:
        spec = load_job(job) if isinstance(job, str) else job
        url = resolve(spec.target.url, spec.name)
        key = delivery_key(spec.fingerprint, url)
        book = pieces.ledger(spec, key, target_label(spec, url))
        ledger = await book.read()
        history = origin(spec)
        watermark = ledger.watermark(history, key)  # this target's: a new one starts over
        work = plan(spec, start, end, watermark)
    except Db2apiError as exc:
        log.error(str(exc))
        return RunResult(None, error=str(exc), exception=exc)
    if pieces.rename is not None:
        await pieces.rename(f"{spec.name} {work.label}{' (dry run)' if dry_run else ''}")
    if work.note:
        log.info(work.note)
    if not work.windows:
        return RunResult(None, note=work.note)
    by_key = {window.key: window for window in work.windows}
    left = len(work.windows)

    async def run_one(window: Window) -> WindowReport:
        is_open = window in work.open
        if not (force or dry_run or is_open) and book.is_delivered(window):
            return WindowReport(window.key, skipped=True)  # delivered, maybe by another machine
        return await pieces.run_window(runtime, window, force, dry_run, is_open)

    async def on_done(report: WindowReport) -> None:
        nonlocal left
        left -= 1
        if left <= spec.windows_in_flight:  # the rest are running: one change at the end
            book.hold()
        window = by_key[report.window]
        if not dry_run and window not in work.open and is_complete(report):
            book.add(window)
        progress.update(report)

    try:
        async with pieces.open_runtime(spec, label, dry_run, max_delete_fraction) as runtime:
            progress = await pieces.progress(spec.name, len(work.windows), log)
            ticker = asyncio.create_task(heartbeat(runtime, progress.tick))
            try:
                reports, fatal = await run_windows(
                    work.windows, run_one, concurrency=spec.windows_in_flight, on_done=on_done
                )
            finally:
                ticker.cancel()
            path = str(runtime.dead_letters.path)
    except Db2apiError as exc:
        log.error(str(exc))
        await record_the_rest(book, spec.name, pieces, log)
        error = "; ".join(filter(None, [str(exc), book.unrecorded_note()]))
        return RunResult(None, error=error, exception=exc)
    finally:
        ledger = await record_the_rest(book, spec.name, pieces, log) or ledger
    summary = summarise(spec, work.windows, reports, fatal, time.perf_counter() - began, path)
    summary.dry_run = dry_run
    summary.retried = getattr(runtime.sink, "retries", None)  # a send that raised counts too
    if unrecorded := book.unrecorded_note():  # delivered, yet the next run would not know
        log.error(unrecorded)
        summary.fatal = "; ".join(filter(None, [summary.fatal, unrecorded]))
    moved = ledger.watermark(history, key)
    if moved != watermark:
        log.info(f"watermark of {spec.name} moved to {iso(moved) if moved else 'none'}")
    log.info(summary.headline())
    # after the ledger's last change: it decides the summary, and a change that waits for
    # the server's lock while the run writes its artifacts waits longer (SQLite servers)
    if pieces.publish is not None:
        await asyncio.gather(progress.finish(summary), pieces.publish(summary))
    else:
        await progress.finish(summary)
    return RunResult(summary, note=work.note)


async def record_the_rest(book: RunLedger, job: str, pieces: Pieces, log: Any) -> Ledger | None:
    """The ledger's last change, announced: a busy server may take seconds to answer."""
    waiting = book.waiting()
    if not waiting or pieces.announce is None:
        return await book.flush()
    what = f"recording {waiting:,} windows in the ledger of {job}"
    result: Ledger | None = await pieces.announce(what, book.flush(), log.info)
    return result


def origin(job: Job) -> datetime | None:
    """Where the job's gap-free history must start for a watermark to exist."""
    return to_moment(job.first_start, zone(job.timezone)) if job.first_start else None


def target_label(job: Job, url: str) -> str:
    """The target in words, kept beside its delivery key (a hash) in the ledger."""
    target = job.target
    path = f" path {target.path}" if target.mode != "bulk" else ""
    return SCRUBBER(f"{url.rstrip('/')} {target.mode} index {target.index}{path}")


def verdict(result: RunResult) -> tuple[bool, str]:
    """Whether the run succeeded, and its one-line message (the flow's final state)."""
    summary = result.summary
    if summary is None:
        return not result.error, result.error or result.note
    if summary.fatal:
        return False, summary.fatal
    if summary.dry_run:
        return True, (
            f"dry run: {summary.total('acked')} documents would be sent, "
            f"{summary.total('dead')} rejected"
        )
    if not summary.ok:
        return False, failure_message(summary)
    message = f"{summary.total('acked')} documents delivered"
    return True, f"{message} ({result.note})" if result.note else message


def failure_message(summary: RunSummary) -> str:
    dead = summary.total("dead")
    broken = [r for r in summary.windows if r.error and not r.dead]
    parts = []
    if dead:
        parts.append(f"{dead} documents dead-lettered to {summary.dead_letter_file}")
    if broken:
        parts.append(f"{len(broken)} windows failed (first: {broken[0].window}: {broken[0].error})")
    return "; ".join(parts) + "; the next run sends these windows again"


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

    with frozen_heap():  # what is on the heap before the first window is not garbage
        await asyncio.gather(*(one(window) for window in windows))
    return [reports[window] for window in windows], fatal
