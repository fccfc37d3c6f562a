"""``db2api``: a thin command line over the library and the Prefect flow.

Each command parses, calls one function, and turns a :class:`Db2apiError` into one
line on stderr with exit status 2 (bad input) or 1 (the run itself failed); 3 says
the target stayed unavailable past the job's ``give_up_after`` (nothing was lost).
``--debug`` shows the traceback of anything unexpected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from db2api.errors import Db2apiError, RangeError
from db2api.interrupt import Interrupted
from db2api.windows import parse_moment

if TYPE_CHECKING:
    from db2api.report import RunSummary

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3  # the target stayed down: nothing lost, the next run catches up


def moment(text: str) -> date | datetime:
    try:
        return parse_moment(text)
    except RangeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_jobs(args: argparse.Namespace) -> int:
    from db2api.catalog import job_files, load_job

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
    from db2api.runner import run_transfer

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


def cmd_backfill(args: argparse.Namespace) -> int:
    import asyncio

    from db2api.backfill import split_parts, submit
    from db2api.catalog import load_job

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


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db2api.runner import run_replay

    report = run_replay(Path(args.file), args.job)
    print("\n".join(report.lines()))
    return 0 if not report.failed and not report.carried else EXIT_FAILED


def cmd_deadletters(args: argparse.Namespace) -> int:
    from db2api.catalog import load_job
    from db2api.deadletters import dead_letter_folder
    from db2api.resolutions import file_statuses

    folder = dead_letter_folder(load_job(args.job))
    statuses = file_statuses(folder)
    for status in statuses:
        print(f"{status.path}  {status.open} open, {status.resolved} resolved")
    total = sum(status.open for status in statuses)
    print(f"{len(statuses)} dead-letter files in {folder}, {total} letters open")
    return 0


def cmd_watermark(args: argparse.Namespace) -> int:
    import asyncio

    from db2api.catalog import load_job
    from db2api.ledger_store import clear_ledger, read_ledger, set_watermark
    from db2api.prefect_server import local_prefect
    from db2api.windows import to_moment, zone

    job = load_job(args.job)
    with local_prefect():
        if args.set:
            asyncio.run(set_watermark(job.name, to_moment(args.set, zone(job.timezone))))
        elif args.clear:
            asyncio.run(clear_ledger(job.name))
        ledger = asyncio.run(read_ledger(job.name))
    print("\n".join(watermark_lines(job, ledger)))
    return 0


def watermark_lines(job: Any, ledger: Any, limit: int | None = 12) -> list[str]:
    from db2api.ledger import describe
    from db2api.ledger_store import origin
    from db2api.windows import iso

    start = origin(job)
    value = ledger.watermark(start)
    since = f"first_start {iso(start)}" if start else "the earliest delivered window"
    return [
        f"job          {job.name}",
        f"watermark    {iso(value) if value else 'none'} (delivered without a gap from {since})",
        f"delivered    {describe(ledger.counted(), limit)}",
        f"gaps         {describe(ledger.gaps(start), limit)}",
        *target_lines(job, ledger, limit),
    ]


def target_lines(job: Any, ledger: Any, limit: int | None) -> list[str]:
    """One line per delivery key: the target, its watermark (runs plan from it) and gaps."""
    from db2api.job import resolve
    from db2api.ledger import delivery_key, describe
    from db2api.ledger_store import origin, target_label
    from db2api.windows import iso

    try:
        url = resolve(job.target.url, job.name)
        now, now_label = delivery_key(job.fingerprint, url), target_label(job, url)
    except Db2apiError:
        now = now_label = None  # the target's URL is not set here: none is marked current
    start = origin(job)
    lines = []
    for key in reversed(list(ledger.by_key)):  # the most recent first
        value = ledger.watermark(start, key)
        label = ledger.labels.get(key, f"key {key}")
        lines.append(
            f"target       {label}{' (now)' if key == now else ''}: "
            f"watermark {iso(value) if value else 'none'}, "
            f"gaps {describe(ledger.gaps(start, key), limit)}"
        )
    if now is not None and now not in ledger.by_key:
        lines.append(f"target       {now_label} (now): nothing delivered yet")
    return lines


def cmd_demo(args: argparse.Namespace) -> int:
    from db2api.demo import run_demo

    return run_demo(mode=args.mode, build_only=args.build_only, force=args.force)


def cmd_receiver(args: argparse.Namespace) -> int:
    from db2api.receiver.__main__ import main as receiver_main

    return receiver_main(args.receiver_args, prog="db2api receiver")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="db2api",
        description="Move rows from a database to an HTTP API in resumable, idempotent windows.",
    )
    root.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    backfill = commands.add_parser(
        "backfill", help="submit a range as flow runs of the job's backfill deployment"
    )
    backfill.add_argument("job", help="job name")
    backfill.add_argument("--start", type=moment, required=True, help="first moment, inclusive")
    backfill.add_argument("--end", type=moment, required=True, help="where to stop, exclusive")
    backfill.add_argument(
        "--per",
        default="month",
        help="one flow run per day, week, month (default) or year, or per N windows",
    )
    backfill.add_argument("--dry-run", action="store_true", help="list parts and windows only")
    backfill.add_argument("--force", action="store_true", help="send windows already done again")
    backfill.add_argument(
        "--retry-failed",
        action="store_true",
        help="submit again the parts whose earlier run failed (done windows are skipped)",
    )
    backfill.add_argument("--deployment", help="deployment to run (default: transfer/backfill-JOB)")
    backfill.set_defaults(func=cmd_backfill)

    replay = commands.add_parser("replay", help="send a dead-letter file's documents again")
    replay.add_argument("file", help="a dead-letter .jsonl file")
    replay.add_argument("--job", help="job to send with (default: the job named in the file)")
    replay.set_defaults(func=cmd_replay)

    deadletters = commands.add_parser(
        "deadletters", help="list a job's dead-letter files with open and resolved counts"
    )
    deadletters.add_argument("job", help="job name")
    deadletters.set_defaults(func=cmd_deadletters)

    watermark = commands.add_parser(
        "watermark",
        help="show a job's watermark and the gaps in what it delivered; set or clear it",
    )
    watermark.add_argument("job", help="job name")
    change = watermark.add_mutually_exclusive_group()
    change.add_argument("--set", type=moment, help="move it to YYYY-MM-DD[THH:MM]")
    change.add_argument(
        "--clear", action="store_true", help="forget what was delivered (next run: first_start)"
    )
    watermark.set_defaults(func=cmd_watermark)

    demo = commands.add_parser(
        "demo", help="SQLite demo data -> local receiver, through a local Prefect server"
    )
    demo.add_argument("--mode", choices=("bulk", "item"), default="bulk", help="upload mode")
    demo.add_argument("--build-only", action="store_true", help="only build the demo database")
    demo.add_argument("--force", action="store_true", help="send windows already done again")
    demo.set_defaults(func=cmd_demo)

    receiver = commands.add_parser(
        "receiver",
        help="start the local Elasticsearch-like receiver (see `receiver --help`)",
        add_help=False,
    )
    receiver.add_argument("receiver_args", nargs=argparse.REMAINDER)
    receiver.set_defaults(func=cmd_receiver)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    root = parser()
    # The receiver has its own parser: its options (``--help`` included) go to it
    # untouched; argparse's REMAINDER alone drops a leading option.
    args, unknown = root.parse_known_args(argv)
    if getattr(args, "func", None) is cmd_receiver:
        args.receiver_args = [*unknown, *args.receiver_args]
    elif unknown:
        root.error(f"unrecognized arguments: {' '.join(unknown)}")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except Interrupted as exc:
        print(f"db2api: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Db2apiError as exc:
        print(f"db2api: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("db2api: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"db2api: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
