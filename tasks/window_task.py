"""The window task: one ``[start, end)`` slice, cached once it is fully delivered.

The cache key is (job, what the job sends, window), so re-running a range skips
windows that completed, and editing the SQL, transform, id or target makes them
run again. A window with dead letters raises :class:`WindowIncomplete` instead of
returning: Prefect does not cache failures, so the next run sends it again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from db2api.errors import SourceLost, WindowIncomplete
from db2api.records.windows import Window
from db2api.run.report import WindowReport
from db2api.run.runtime import Runtime
from db2api.run.window import run_window
from tasks.upload import upload_chunk


def window_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    runtime: Runtime = parameters["runtime"]
    window: Window = parameters["window"]
    # The resolved URL too: the same job pointed at another cluster must send again.
    text = f"{runtime.job.name}|{runtime.job.fingerprint}|{runtime.url}|{window.key}"
    return f"db2api-{runtime.job.name}-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


async def is_source_lost(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a window only when the database went away mid-read."""
    return isinstance(await state.aresult(raise_on_failure=False), SourceLost)


@task(
    name="transfer-window",
    task_run_name="window {window}",
    cache_key_fn=window_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=is_source_lost,
)
async def transfer_window(runtime: Runtime, window: Window) -> WindowReport:
    return await _transfer(runtime, window)


@task(
    name="dry-run-window",
    task_run_name="dry run {window}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
async def dry_run_window(runtime: Runtime, window: Window) -> WindowReport:
    """The same window through the dry-run sink: never read from or written to the cache."""
    return await _transfer(runtime, window)


async def _transfer(runtime: Runtime, window: Window) -> WindowReport:
    sink = runtime.sink
    report = await run_window(runtime, window, upload=lambda chunk: upload_chunk(sink, chunk))
    if report.dead:
        report.error = f"{report.dead} dead letters"
        raise WindowIncomplete(
            f"window {window}: {report.dead} of {report.rows} rows went to the dead-letter "
            f"file {runtime.dead_letters.path}; the window runs again next time",
            report,
        )
    return report


@task(
    name="open-window",
    task_run_name="window {window} (not ended yet)",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=is_source_lost,
)
async def open_window(runtime: Runtime, window: Window) -> WindowReport:
    """A window that has not ended yet: sent, never cached (rows may still arrive)."""
    return await _transfer(runtime, window)


refreshed_window = transfer_window.with_options(refresh_cache=True)


async def run_window_task(
    runtime: Runtime,
    window: Window,
    force: bool = False,
    dry_run: bool = False,
    is_open: bool = False,
) -> WindowReport:
    """The transfer loop's window runner under Prefect: the window as a task run.

    Says whether its result came from Prefect's cache: the ledger skips what it has
    recorded before a task run starts; the cache still covers a window delivered by a
    run that died before its ledger change (a crash), which is sent again otherwise.

    ``force`` reads and sends the window even if it is done (and caches it anew);
    a dry run and an open window (not ended yet) never read from or write to the cache.
    """
    runner = (
        dry_run_window
        if dry_run
        else open_window
        if is_open
        else refreshed_window
        if force
        else transfer_window
    )
    state = await runner(runtime, window, return_state=True)
    if not state.is_completed():
        error = await state.aresult(raise_on_failure=False)
        raise error if isinstance(error, BaseException) else RuntimeError(str(state.message))
    report: WindowReport = await state.aresult()
    report.cached = state.name == "Cached"
    return report
