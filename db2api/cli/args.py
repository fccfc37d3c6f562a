"""What every command shares: exit statuses and the argument types."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from db2api.errors import RangeError
from db2api.records.windows import parse_moment

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3  # the target stayed down: nothing lost, the next run catches up


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
