"""``db2api deploy``, ``backfill`` and ``status``: deployments and runs on the Prefect server."""

from __future__ import annotations

import argparse
import asyncio

from db2api.errors import Db2apiError
from db2api.orchestration.backfill import split_parts, submit
from db2api.orchestration.deploy import api_url, deploy_job
from db2api.orchestration.status import gather_status, render
from db2api.run.catalog import job_names, load_job


def cmd_backfill(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    parts = split_parts(job, args.start, args.end, args.per)
    if args.dry_run:
        for number, part in enumerate(parts, start=1):
            print(f"part {number:>3}  {part.label}  {len(part.windows)} windows")
            for window in part.windows:
                print(f"           {window}")
        print(
            f"{len(parts)} parts, {sum(len(p.windows) for p in parts)} windows; nothing submitted"
        )
        return 0
    submitted = asyncio.run(
        submit(job, parts, args.deployment, force=args.force, retry_failed=args.retry_failed)
    )
    for item in submitted:
        status = "submitted" if item.new else "already submitted"
        print(f"{item.part.label}  {item.state:<10} {status:<17} {item.name}  {item.flow_run_id}")
    new = sum(1 for item in submitted if item.new)
    print(f"{len(submitted)} parts: {new} new flow runs, {len(submitted) - new} already there")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    specs = asyncio.run(deploy_job(args.job, args.nightly, args.timezone, args.enable))
    for spec in specs:
        when = "".join(
            f", {s.cron} {s.timezone} {'active' if s.active else 'paused'}" for s in spec.schedules
        )
        print(f"transfer/{spec.name}  queue {spec.queue}{when}")
    print(f"{len(specs)} deployments of job {specs[0].parameters['job']} on {api_url()}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    jobs, broken = [], []
    for name in [args.job] if args.job else job_names():
        try:
            jobs.append(load_job(name))
        except Db2apiError as exc:
            if args.job:
                raise
            broken.append(f"job           {name} BROKEN: {exc}")  # the others still show
    print("\n".join([*render(asyncio.run(gather_status(jobs))), *broken]))
    return 0
