"""``db2api run`` and ``replay``: a flow run in this process (imports Prefect)."""

from __future__ import annotations

import argparse
from pathlib import Path

from db2api.cli.args import EXIT_FAILED, exit_status
from db2api.orchestration.local_run import run_replay, run_transfer


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


def cmd_replay(args: argparse.Namespace) -> int:
    report = run_replay(Path(args.file), args.job)
    print("\n".join(report.lines()))
    return 0 if not report.failed and not report.carried else EXIT_FAILED
