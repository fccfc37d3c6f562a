"""``db2api deadletters`` and ``replay``: a job's dead letters, and sending them again."""

from __future__ import annotations

import argparse
from pathlib import Path

from db2api.cli.args import EXIT_FAILED, letters
from db2api.orchestration.local_run import run_replay
from db2api.records.deadletters import dead_letter_folder
from db2api.records.letter_groups import (
    group_letters,
    group_lines,
    letter_lines,
    matches,
    open_letters,
    totals_line,
)
from db2api.records.resolutions import file_statuses
from db2api.run.catalog import load_job


def cmd_replay(args: argparse.Namespace) -> int:
    report = run_replay(Path(args.file), args.job)
    print("\n".join(report.lines()))
    return 0 if not report.failed and not report.carried else EXIT_FAILED


def cmd_deadletters(args: argparse.Namespace) -> int:
    folder = dead_letter_folder(load_job(args.job))
    found = open_letters(folder)
    letters = [r for r in found.letters if args.reason is None or matches(r, args.reason)]
    where = f" with {args.reason!r} in the reason" if args.reason is not None else ""
    if args.show:
        for record in letters[: args.show]:
            print("\n".join([*letter_lines(record), ""]))
        print(f"{min(args.show, len(letters))} of {len(letters)} open documents{where} shown")
        return 0
    groups = group_letters(letters)
    if found.letters:
        print(f"open documents{where} by reason (most frequent first):")
        print("\n".join(group_lines(groups)))
        print()
    for status in file_statuses(folder):
        print(f"{status.path}  {status.open} open, {status.resolved} resolved")
    print(f"{totals_line(found)} (in {folder})")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    replay = commands.add_parser("replay", help="send a dead-letter file's documents again")
    replay.add_argument("file", help="a dead-letter .jsonl file")
    replay.add_argument("--job", help="job to send with (default: the job named in the file)")
    replay.set_defaults(func=cmd_replay)
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
    deadletters.set_defaults(func=cmd_deadletters)
