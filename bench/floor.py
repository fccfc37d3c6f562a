"""P5's floor: Prefect alone, the same two task runs per window with nothing inside.

An async flow runs ``windows`` "window" tasks, as many at a time as the transfer
flow does (the job's ``windows_in_flight``), each awaiting one "upload" task;
both ``NO_CACHE``, task runs' INFO lines off as in the transfer flow. Its time per
window is what Prefect's task engine, events and server cost on this machine
before db2api does anything, so P5 can say how much of the flow's orchestration
is db2api's.
"""

from __future__ import annotations

import asyncio

from bench.flowrun import on_server
from bench.jobs import pg_job
from bench.measure import Args, Measurement, Stopwatch
from bench.settings import TINY_TABLE


def prefect_floor(args: Args) -> Measurement:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from db2api.log import quiet_task_runs

    in_flight = pg_job(args.url, table=TINY_TABLE).windows_in_flight  # as flow-tiny's job

    @task(name="upload-chunk", cache_policy=NO_CACHE, persist_result=False)
    async def upload(number: int) -> int:
        return number

    @task(name="transfer-window", cache_policy=NO_CACHE, persist_result=False)
    async def window(number: int) -> int:
        return await upload(number)

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
    return Measurement(done, watch.seconds, watch.cpu)
