"""A run whose machine is lost becomes Crashed, and the failure alert fires.

End to end: a worker-run flow waits for a target in an outage; its worker is frozen
(SIGSTOP, as if its machine were gone, so it cannot report its child's death) and
the flow's process is killed with SIGKILL. Its heartbeats stop, the automation
deployments/setup.py created marks it Crashed, and the webhook hears about it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from db2api.receiver import ReceiverProcess
from tests.support.stack import Stack, today

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


def flow_run_process(run_id: str) -> psutil.Process | None:
    """The process executing ``run_id`` (the worker passes the id in its environment)."""
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get("PREFECT__FLOW_RUN_ID") == run_id:
                return process
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return None


async def wait_for(what: str, check: Any, timeout: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(1)


async def test_a_killed_run_is_marked_crashed_and_notifies(
    stack: Stack, worker: Path, target: ReceiverProcess, webhook: asyncio.Queue[Any]
) -> None:
    from prefect import get_client
    from prefect.deployments import run_deployment

    target.set_faults(outage_after_seconds=0, outage_seconds=600)  # the run waits for the target
    run = await run_deployment(
        "transfer/nightly-demo",
        parameters={"start": (today() - timedelta(days=3)).isoformat(), "force": True},
        timeout=0,
    )
    run_id = str(run.id)

    async with get_client() as client:

        async def running() -> bool:
            state = (await client.read_flow_run(run.id)).state
            return bool(state and state.is_running() and flow_run_process(run_id))

        await wait_for("the run started", running, 120)
        await asyncio.sleep(10)  # its first heartbeat is sent as it starts
        process = flow_run_process(run_id)
        assert process is not None
        worker_process = process.parent()
        assert worker_process is not None and "worker" in " ".join(worker_process.cmdline())
        os.kill(worker_process.pid, signal.SIGSTOP)
        try:
            os.kill(process.pid, signal.SIGKILL)

            async def crashed() -> Any:
                state = (await client.read_flow_run(run.id)).state
                return state if state and state.is_crashed() else None

            state = await wait_for("marked Crashed", crashed, 240)
        finally:
            os.kill(worker_process.pid, signal.SIGCONT)

    assert "no heartbeat for 90 s" in (state.message or "")
    message = await asyncio.wait_for(webhook.get(), timeout=90)
    assert message["subject"].endswith("ended Crashed")
    target.set_faults()
