"""Bare Prefect: the flow's task-run shape per window, with nothing inside.

An async flow runs ``windows`` "window" tasks, as many at a time as the transfer
flow does (the job's ``windows_in_flight``), each awaiting ``uploads`` "upload"
tasks (one for a window of one chunk, none for an empty window, which reads no
chunk); all ``NO_CACHE`` with no persisted result, task runs' INFO lines off as
in the transfer flow. Its time per window is what Prefect's task engine, events
and server cost on this machine before db2api does anything: P5 and P6 are the
flow's cost per window as a multiple of it.
"""

from __future__ import annotations

import asyncio

from bench.flowrun import on_server
from bench.jobs import pg_job
from bench.measure import Args, Measurement, Stopwatch
from bench.settings import TINY_TABLE


def prefect_floor(args: Args, uploads: int = 1) -> Measurement:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from db2api.log import quiet_task_runs

    in_flight = pg_job(args.url, table=TINY_TABLE).windows_in_flight  # as the flow's job

    @task(name="upload-chunk", cache_policy=NO_CACHE, persist_result=False)
    async def upload(number: int) -> int:
        return number

    @task(name="transfer-window", cache_policy=NO_CACHE, persist_result=False)
    async def window(number: int) -> int:
        for _ in range(uploads):
            await upload(number)
        return number

    @flow(name="prefect-floor")
    async def floor(windows: int) -> int:
        quiet_task_runs()
        slots = asyncio.Semaphore(in_flight)

        async def one(number: int) -> int:
            async with slots:
                return await window(number)

        return len(await asyncio.gather(*(one(number) for number in range(windows))))

    with on_server(args), Stopwatch() as watch:
        done = asyncio.run(floor(args.docs))
    return Measurement(done, watch.seconds, watch.cpu, {"uploads_per_window": uploads})


def empty_floor(args: Args) -> Measurement:
    """P6's floor: one empty task run per window, as an empty window has."""
    return prefect_floor(args, uploads=0)
