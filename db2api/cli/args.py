"""What every command shares: exit statuses and the argument types (a light module)."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import TYPE_CHECKING

from db2api.errors import RangeError
from db2api.records.windows import parse_moment

if TYPE_CHECKING:
    from db2api.run.report import RunSummary

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3  # the target stayed down: nothing lost, the next run catches up


def exit_status(summary: RunSummary | None) -> int:
    """0 delivered (or nothing to do), 3 target unavailable, 1 any other failed or stopped run."""
    if summary is None or summary.ok or summary.dry_run:
        return 0
    return EXIT_UNAVAILABLE if summary.unavailable else EXIT_FAILED


def moment(text: str) -> date | datetime:
    try:
        return parse_moment(text)
    except RangeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count(text: str) -> int:
    """A whole number of at least 1 (a sample of 0 rows, or -1 = no limit, checks nothing)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def letters(text: str) -> int:
    """How many letters to print in full: 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of letters, got {text!r}")
    return int(text)
