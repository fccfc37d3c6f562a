"""``db2api deadletters``: a job's open dead letters, grouped by reason (no Prefect)."""

from __future__ import annotations

import argparse

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
