"""Every command's arguments and help: the parser is built from this module alone.

It imports nothing but the argument types, so ``db2api --help`` and a mistyped option
cost no more than argparse. Each command names its handler as ``"module:function"``;
:func:`db2api.cli.main` imports that module only once the command is chosen.
"""

from __future__ import annotations

import argparse

from db2api.cli.args import count, letters, moment


def add_commands(commands: argparse._SubParsersAction) -> None:
    add_runs(commands)
    add_letters(commands)
    add_watermark(commands)
    add_server(commands)
    add_local(commands)


def add_runs(commands: argparse._SubParsersAction) -> None:
    """``jobs``, ``run`` and ``check`` (handlers in db2api.cli.jobs and db2api.cli.runs)."""
    jobs = commands.add_parser("jobs", help="list the jobs and where their files are")
    jobs.set_defaults(handler="db2api.cli.jobs:cmd_jobs")
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
    run.set_defaults(handler="db2api.cli.runs:cmd_run")
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
    check.set_defaults(handler="db2api.cli.jobs:cmd_check")


def add_letters(commands: argparse._SubParsersAction) -> None:
    """``replay`` (db2api.cli.runs) and ``deadletters`` (db2api.cli.letters)."""
    replay = commands.add_parser("replay", help="send a dead-letter file's documents again")
    replay.add_argument("file", help="a dead-letter .jsonl file")
    replay.add_argument("--job", help="job to send with (default: the job named in the file)")
    replay.set_defaults(handler="db2api.cli.runs:cmd_replay")
    deadletters = commands.add_parser(
        "deadletters", help="a job's open dead letters grouped by reason; --show N prints them"
    )
    deadletters.add_argument("job", help="job name")
    deadletters.add_argument(
        "--show", type=letters, default=0, metavar="N", help="print N open letters in full"
    )
    deadletters.add_argument(
        "--reason", metavar="TEXT", help="only letters whose reason or error contains TEXT"
    )
    deadletters.set_defaults(handler="db2api.cli.letters:cmd_deadletters")


def add_watermark(commands: argparse._SubParsersAction) -> None:
    """``watermark`` (db2api.cli.watermark)."""
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
    watermark.set_defaults(handler="db2api.cli.watermark:cmd_watermark")


def add_server(commands: argparse._SubParsersAction) -> None:
    """``backfill``, ``deploy`` and ``status`` (db2api.cli.server)."""
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
    backfill.set_defaults(handler="db2api.cli.server:cmd_backfill")
    deploy = commands.add_parser(
        "deploy",
        help="create or update a job's nightly-, run- and backfill- deployments on the server",
    )
    deploy.add_argument("job", help="job name (see `db2api jobs`) or path to a job file")
    deploy.add_argument(
        "--nightly", metavar="CRON", help="when the nightly run starts (default 15 2 * * *)"
    )
    deploy.add_argument("--timezone", metavar="TZ", help="of the cron (default: the job's)")
    deploy.add_argument(
        "--enable", action="store_true", help="switch the nightly schedule on (default: paused)"
    )
    deploy.set_defaults(handler="db2api.cli.server:cmd_deploy")
    status = commands.add_parser(
        "status",
        help="per job: watermark, gaps per target, last run, open dead letters, next run",
    )
    status.add_argument("job", nargs="?", help="job name (default: every job)")
    status.set_defaults(handler="db2api.cli.server:cmd_status")


def add_local(commands: argparse._SubParsersAction) -> None:
    """``demo`` (db2api.cli.demo) and ``receiver`` (db2api.cli.receiver)."""
    demo = commands.add_parser(
        "demo", help="SQLite demo data -> local receiver, through a local Prefect server"
    )
    demo.add_argument("--mode", choices=("bulk", "item"), default="bulk", help="upload mode")
    demo.add_argument("--build-only", action="store_true", help="only build the demo database")
    demo.add_argument("--force", action="store_true", help="send windows already done again")
    demo.set_defaults(handler="db2api.cli.demo:cmd_demo")
    receiver = commands.add_parser(
        "receiver",
        help="start the local Elasticsearch-like receiver (see `receiver --help`)",
        add_help=False,
    )
    receiver.add_argument("receiver_args", nargs=argparse.REMAINDER)
    receiver.set_defaults(handler="db2api.cli.receiver:cmd_receiver")
