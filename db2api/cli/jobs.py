"""``db2api jobs`` and ``check``: what the jobs are and whether one can run (no Prefect)."""

from __future__ import annotations

import argparse

from db2api.cli.args import EXIT_FAILED
from db2api.errors import Db2apiError
from db2api.ops.check import run_checks
from db2api.ops.results import passed, render
from db2api.run.catalog import job_files, load_job


def cmd_jobs(args: argparse.Namespace) -> int:
    for name, path in job_files().items():
        try:
            job = load_job(name)
            print(
                f"{name:<12} {job.source.dbtype:<8} -> {job.target.mode:<4} "
                f"index {job.target.index!r}, windows of {job.window} ({job.timezone})  {path}"
            )
        except Db2apiError as exc:
            print(f"{name:<12} BROKEN: {exc}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    results = run_checks(args.job, args.end, args.rows)
    print(render(results))
    return 0 if passed(results) else EXIT_FAILED
