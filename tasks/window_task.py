"""The window task: one ``[start, end)`` slice, a task run in the UI.

What skips a delivered window is the ledger (:mod:`db2api.orchestration.ledger_store`),
read once per run by the transfer loop, not Prefect's result cache: the task keeps no
result and looks nothing up (``NO_CACHE``, nothing persisted), which saved a cache
look-up, a result file and five storage-path resolutions per window. A window with
dead letters raises :class:`WindowIncomplete` instead of returning, so its task run
is Failed in the UI; the loop does not record it, and the next run sends it again.

The runtime (sink, pool, job) reaches the task wrapped in ``opaque``: Prefect takes it
as it is instead of walking it, twice per task run, for futures and states.
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


# A window that has not ended yet: sent, never recorded (rows may still arrive).
open_window = transfer_window.with_options(
    name="open-window", task_run_name="window {window} (not ended yet)"
)
# The same window through the dry-run sink: nothing is sent, so nothing to retry.
dry_run_window = transfer_window.with_options(
    name="dry-run-window", task_run_name="dry run {window}", retries=0
)


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

    ``force`` needs nothing here: the loop decides what to skip (from the ledger).
    """
    runner = dry_run_window if dry_run else open_window if is_open else transfer_window
    state = await runner(opaque(runtime), window, return_state=True)
    if not state.is_completed():
        error = await state.aresult(raise_on_failure=False)
        raise error if isinstance(error, BaseException) else RuntimeError(str(state.message))
    report: WindowReport = await state.aresult()
    return report
