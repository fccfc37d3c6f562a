"""The window task: one ``[start, end)`` slice as a task run, nothing cached.

Which windows a run skips is the ledger's business, decided before a task run
starts (:mod:`db2api.run.transfer`): the ledger in the Prefect server and this
machine's journal of windows delivered but not recorded there yet
(:mod:`db2api.records.journal`), which covers a run killed just after a window.
So the task persists no result and looks up no cache: that transaction was a third
of what a window cost Prefect. A window with dead letters raises
:class:`WindowIncomplete` instead of returning: it is not recorded, and the next
run sends it again.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import opaque

from db2api.errors import SourceLost, WindowIncomplete
from db2api.records.windows import Window
from db2api.run.report import WindowReport
from db2api.run.runtime import Runtime
from db2api.run.window import run_window
from tasks.upload import upload_chunk


async def is_source_lost(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a window only when the database went away mid-read."""
    return isinstance(await state.aresult(raise_on_failure=False), SourceLost)


@task(
    name="transfer-window",
    task_run_name="window {window}",
    cache_policy=NO_CACHE,
    persist_result=False,
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
    """The same window through the dry-run sink: nothing sent, nothing recorded."""
    return await _transfer(runtime, window)


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
    """A window that has not ended yet: sent, never recorded (rows may still arrive)."""
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


async def run_window_task(
    runtime: Runtime,
    window: Window,
    force: bool = False,
    dry_run: bool = False,
    is_open: bool = False,
) -> WindowReport:
    """The transfer loop's window runner under Prefect: the window as a task run.

    The loop has already skipped what the ledger or the journal holds (unless
    ``force``), so every window that gets here is read and sent; ``force`` changes
    nothing here. A dry run and an open window (not ended yet) are task runs of
    their own names, so the UI tells them apart.
    """
    runner = dry_run_window if dry_run else open_window if is_open else transfer_window
    # Opaque: Prefect looks for futures in neither (it would walk both, twice per run).
    state = await runner(opaque(runtime), opaque(window), return_state=True)
    if not state.is_completed():
        error = await state.aresult(raise_on_failure=False)
        raise error if isinstance(error, BaseException) else RuntimeError(str(state.message))
    report: WindowReport = await state.aresult()
    return report
