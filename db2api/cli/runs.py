"""``db2api jobs``, ``run`` and ``check``: list, run and check a job here."""

from __future__ import annotations

import argparse

from db2api.cli.args import EXIT_FAILED, EXIT_UNAVAILABLE, count, moment
from db2api.errors import Db2apiError
from db2api.ops.check import run_checks
from db2api.ops.results import passed, render
from db2api.orchestration.local_run import run_transfer
from db2api.run.catalog import job_files, load_job
from db2api.run.report import RunSummary


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


def cmd_run(args: argparse.Namespace) -> int:
    summary = run_transfer(
        args.job,
        args.start,
        args.end,
        force=args.force,
        dry_run=args.dry_run,
        max_delete_fraction=args.max_delete_fraction,
    )
    return exit_status(summary)


def exit_status(summary: RunSummary | None) -> int:
    """0 delivered (or nothing to do), 3 target unavailable, 1 any other failed or stopped run."""
    if summary is None or summary.ok or summary.dry_run:
        return 0
    return EXIT_UNAVAILABLE if summary.unavailable else EXIT_FAILED


def cmd_check(args: argparse.Namespace) -> int:
    results = run_checks(args.job, args.end, args.rows)
    print(render(results))
    return 0 if passed(results) else EXIT_FAILED


def add_commands(commands: argparse._SubParsersAction) -> None:
    jobs = commands.add_parser("jobs", help="list the jobs and where their files are")
    jobs.set_defaults(func=cmd_jobs)
    run = commands.add_parser("run", help="run a job over [start, end) now, as a Prefect flow run")
    run.add_argument("job", help="job name (see `db2api jobs`) or path to a job file")
    run.add_argument(
        "--start",
        type=moment,
        help="first moment, inclusive: YYYY-MM-DD[THH:MM] (default: the job's watermark)",
    )
    run.add_argument(
        "--end",
        type=moment,
        help="where to stop, exclusive: YYYY-MM-DD[THH:MM] (default: today 00:00, job timezone)",
    )
    run.add_argument("--force", action="store_true", help="send windows already done again")
    run.add_argument(
        "--dry-run", action="store_true", help="read and build everything, send nothing"
    )
    run.add_argument(
        "--max-delete-fraction",
        type=float,
        metavar="F",
        help="reconciling jobs: let this run delete up to this share of a window's documents "
        "(0 to 1; default: the job's target.max_delete_fraction)",
    )
    run.set_defaults(func=cmd_run)
    check = commands.add_parser(
        "check", help="check a job's source, documents, target and folders; writes nothing"
    )
    check.add_argument("job", help="job name or path to a job file")
    check.add_argument(
        "--end",
        type=moment,
        help="sample the window ending here: YYYY-MM-DD[THH:MM] (default: today 00:00, "
        "job timezone)",
    )
    check.add_argument(
        "--rows", type=count, default=100, help="rows to sample from that window (default 100)"
    )
    check.set_defaults(func=cmd_check)
