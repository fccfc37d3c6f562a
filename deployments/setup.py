"""Create what prefect.yaml cannot: the work pool, its queues, and the automations.

    python deployments/setup.py                       # pool "db2api", queues nightly + backfill
    python deployments/setup.py --notify-url URL      # also: webhook on Failed/Crashed runs

Idempotent: run it again after a change. The nightly queue has priority 1 and no
limit; the backfill queue priority 10 and at most ``--backfill-limit`` runs at a
time, so a worker always has room for tonight's run while a long backfill drains.

A run whose process dies (SIGKILL, out of memory, the machine lost) cannot say so
itself. Runs on the pool send a heartbeat every ``--heartbeat`` seconds, and an
automation marks a run Crashed when three heartbeats in a row do not come (Prefect's
"detect zombie flows" recipe), so the failure alert fires and
``db2api backfill --retry-failed`` picks it up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from typing import Any

from prefect import get_client
from prefect.automations import Automation, EventTrigger, Posture, SendNotification
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.exceptions import ObjectNotFound
from prefect.workers.process import ProcessWorker

POOL = "db2api"
QUEUES = {"nightly": (1, None), "backfill": (10, 2)}
BLOCK = "db2api-failures"
AUTOMATION = "db2api: transfer run failed or crashed"
ZOMBIES = "db2api: mark runs whose heartbeats stopped Crashed"
HEARTBEAT = 30  # seconds; Prefect's smallest
MISSED = 3  # heartbeats missed in a row before a run counts as dead


def with_heartbeat(template: dict[str, Any], seconds: int) -> dict[str, Any]:
    """The pool's job template, with runs sending heartbeats every ``seconds``."""
    env = template["variables"]["properties"]["env"]
    env["default"] = {
        **(env.get("default") or {}),
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(seconds),
    }
    return template


async def ensure_pool(pool: str, backfill_limit: int, heartbeat: int = HEARTBEAT) -> None:
    async with get_client() as client:
        try:
            existing = await client.read_work_pool(pool)
            template = with_heartbeat(existing.base_job_template, heartbeat)
            await client.update_work_pool(pool, WorkPoolUpdate(base_job_template=template))
            print(f"work pool {pool!r} exists; runs send a heartbeat every {heartbeat} s")
        except ObjectNotFound:
            template = with_heartbeat(ProcessWorker.get_default_base_job_template(), heartbeat)
            await client.create_work_pool(
                WorkPoolCreate(name=pool, type="process", base_job_template=template)
            )
            print(f"work pool {pool!r} created (type process, heartbeat every {heartbeat} s)")
        for name, (priority, limit) in QUEUES.items():
            limit = backfill_limit if name == "backfill" else limit
            try:
                queue = await client.read_work_queue_by_name(name, work_pool_name=pool)
                await client.update_work_queue(queue.id, priority=priority, concurrency_limit=limit)
            except ObjectNotFound:
                await client.create_work_queue(
                    name, work_pool_name=pool, priority=priority, concurrency_limit=limit
                )
            print(f"  queue {name!r}: priority {priority}, limit {limit or 'none'}")


async def ensure_zombie_detection(heartbeat: int = HEARTBEAT) -> None:
    """Prefect's documented automation: no heartbeat or final state in time -> Crashed."""
    async with get_client() as client:
        for existing in await client.read_automations_by_name(ZOMBIES):
            await client.delete_automation(existing.id)
    within = timedelta(seconds=heartbeat * MISSED)
    automation = Automation(
        name=ZOMBIES,
        description=f"A flow run that sent no heartbeat for {within.seconds} s has died.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {within.seconds} s: the run's process died "
                "(killed, out of memory, or its machine lost); nothing it had not finished "
                "was recorded as delivered",
            )
        ],
    )
    await automation.acreate()
    print(f"automation {ZOMBIES!r}: Crashed after {within.seconds} s without a heartbeat")


async def ensure_alert(url: str) -> None:
    block = CustomWebhookNotificationBlock(
        name=BLOCK,
        url=url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    )
    block_id = await block.save(BLOCK, overwrite=True)
    async with get_client() as client:
        for existing in await client.read_automations_by_name(AUTOMATION):
            await client.delete_automation(existing.id)
    automation = Automation(
        name=AUTOMATION,
        description="Notify when a db2api transfer run ends Failed or Crashed.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": "transfer"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="db2api: {{ flow_run.name }} ended {{ flow_run.state.name }}",
                body="{{ flow_run.state.message }}",
            )
        ],
    )
    await automation.acreate()
    print(f"automation {AUTOMATION!r} notifies {url} through block {BLOCK!r}")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default=POOL, help="work pool name (default db2api)")
    parser.add_argument("--backfill-limit", type=int, default=2, help="backfill runs at once")
    parser.add_argument("--notify-url", help="webhook URL to POST failure notifications to")
    parser.add_argument(
        "--heartbeat", type=int, default=HEARTBEAT, help="seconds between run heartbeats (>= 30)"
    )
    args = parser.parse_args(argv)
    if args.heartbeat < HEARTBEAT:
        parser.error(f"--heartbeat must be at least {HEARTBEAT} seconds (Prefect's minimum)")
    await ensure_pool(args.pool, args.backfill_limit, args.heartbeat)
    await ensure_zombie_detection(args.heartbeat)
    if args.notify_url:
        await ensure_alert(args.notify_url)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
