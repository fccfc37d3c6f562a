"""``db2api``: a thin command line over the library and the Prefect flow.

Each command parses, calls one function, and turns a :class:`Db2apiError` into one
line on stderr with exit status 2 (bad input) or 1 (the run itself failed).
``--debug`` shows the traceback of anything unexpected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime

from db2api.errors import Db2apiError, RangeError
from db2api.windows import parse_moment

EXIT_FAILED = 1
EXIT_USAGE = 2


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

    summary = run_transfer(args.job, args.start, args.end, force=args.force, dry_run=args.dry_run)
    return 0 if summary is None or summary.ok or summary.dry_run else EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from db2api.demo import run_demo

    return run_demo(mode=args.mode, build_only=args.build_only, force=args.force)


def cmd_receiver(args: argparse.Namespace) -> int:
    from db2api.receiver.__main__ import main as receiver_main

    return receiver_main(args.receiver_args)


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
    run.set_defaults(func=cmd_run)

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
    args = parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
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
