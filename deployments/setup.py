"""Create what prefect.yaml cannot: the work pool, its queues, and the failure alert.

    python deployments/setup.py                       # pool "db2api", queues nightly + backfill
    python deployments/setup.py --notify-url URL      # also: webhook on Failed/Crashed runs

Idempotent: run it again after a change. The nightly queue has priority 1 and no
limit; the backfill queue priority 10 and at most ``--backfill-limit`` runs at a
time, so a worker always has room for tonight's run while a long backfill drains.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from prefect import get_client
from prefect.automations import Automation, EventTrigger, Posture, SendNotification
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound
from prefect.workers.process import ProcessWorker

POOL = "db2api"
QUEUES = {"nightly": (1, None), "backfill": (10, 2)}
BLOCK = "db2api-failures"
AUTOMATION = "db2api: transfer run failed or crashed"


async def ensure_pool(pool: str, backfill_limit: int) -> None:
    async with get_client() as client:
        try:
            await client.read_work_pool(pool)
            print(f"work pool {pool!r} exists")
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            await client.create_work_pool(
                WorkPoolCreate(name=pool, type="process", base_job_template=template)
            )
            print(f"work pool {pool!r} created (type process)")
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
    args = parser.parse_args(argv)
    await ensure_pool(args.pool, args.backfill_limit)
    if args.notify_url:
        await ensure_alert(args.notify_url)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
