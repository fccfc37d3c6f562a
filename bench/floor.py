"""P5's floor: Prefect alone, the same two task runs per window with nothing inside.

An async flow runs ``windows`` "window" tasks, four at a time as the transfer flow
does, each awaiting one "upload" task; both ``NO_CACHE``, task runs' INFO lines
off as in the transfer flow. Its time per window is what Prefect's task engine,
events and server cost on this machine before db2api does anything, so P5 can
say how much of the flow's orchestration is db2api's.
"""

from __future__ import annotations

import asyncio

from bench.measure import Args, BenchError, Measurement, Stopwatch

IN_FLIGHT = 4  # the transfer flow's default windows_in_flight


def prefect_floor(args: Args) -> Measurement:
    if not args.prefect_url:
        raise BenchError("the floor contestant needs --prefect-url (the orchestrator's server)")
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from db2api.log import quiet_task_runs
    from db2api.prefect_server import drain_prefect_workers

    @task(name="upload-chunk", cache_policy=NO_CACHE, persist_result=False)
    async def upload(number: int) -> int:
        return number

    @task(name="transfer-window", cache_policy=NO_CACHE, persist_result=False)
    async def window(number: int) -> int:
        return await upload(number)

    @flow(name="prefect-floor")
    async def floor(windows: int) -> int:
        quiet_task_runs()
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one(number: int) -> int:
            async with slots:
                return await window(number)

        return len(await asyncio.gather(*(one(number) for number in range(windows))))

    with temporary_settings(updates={PREFECT_API_URL: args.prefect_url}):
        try:
            with Stopwatch() as watch:
                done = asyncio.run(floor(args.docs))
        finally:
            drain_prefect_workers()
    return Measurement(done, watch.seconds, watch.cpu)
