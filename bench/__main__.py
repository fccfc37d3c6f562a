"""``python -m bench``: measure db2api against the recipe and its own limits, in one run.

Builds the data once (PostgreSQL tables and a SQLite file, reused afterwards),
starts the bundled receiver (and a Prefect server for the flow contestants), runs
every contestant in its own subprocess, then prints the results and the goals
and writes them to ``bench/RESULTS.md``. Only 127.0.0.1 is contacted, and every
process started is stopped at the end, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from bench.data import DataError, ensure_data
from bench.goals import evaluate
from bench.plan import full_plan, select
from bench.provenance import git_state
from bench.runner import Bench
from bench.settings import FULL, QUICK, RESULTS_FILE
from bench.tables import RunInfo, markdown


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small counts ({QUICK.rows:,} rows, {QUICK.sequential} docs for method 1): "
        "a smoke test that finishes in a few minutes (a minute without the search nodes)",
    )
    parser.add_argument(
        "--only",
        metavar="NAME,...",
        help="run only these sections (engines, opensearch, elasticsearch), contestants or run "
        "keys (e.g. bulk@0, os:bulk)",
    )
    parser.add_argument(
        "--rows", type=int, metavar="N", help="rows for the db2api contestants (caps the others)"
    )
    parser.add_argument(
        "--empty-windows",
        type=int,
        metavar="N",
        help="empty daily windows in P6's runs (default 1,000, 60 with --quick)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="rounds of the runs behind P1a, P2a, P4, P5 and P6 (back to back) and of each "
        "engine's contestants (rotated); their goals take "
        "the median (default 3, 1 with --quick)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_FILE,
        help=f"markdown report (default {RESULTS_FILE})",
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so every started process is stopped."""
    raise KeyboardInterrupt(f"signal {signum}")


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    sizes = QUICK if options.quick else FULL
    try:
        if options.rows:
            sizes = sizes.with_rows(options.rows)
        if options.empty_windows:
            sizes = sizes.with_empty_windows(options.empty_windows)
        repeats = options.repeat or (1 if options.quick else 3)
        if repeats < 1:
            raise ValueError(f"--repeat must be at least 1 (got {repeats})")
        runs = select(full_plan(sizes, repeats), options.only)
    except ValueError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    mode = "quick" if options.quick else "full"
    mode += f" (--only {options.only})" if options.only else ""
    mode += f" (--rows {sizes.rows:,})" if options.rows else ""
    mode += f" (--empty-windows {sizes.empty_windows:,})" if options.empty_windows else ""
    signal.signal(signal.SIGTERM, _interrupt)
    info, began = RunInfo(mode), time.perf_counter()
    try:
        ensure_data(say)
        say(f"bench: {mode} run, {len(runs)} runs; contestant logs in .db2api/bench/logs/")
        with ExitStack() as stack:
            results = Bench(stack, say, fresh_prefect=not options.quick).run_all(runs)
    except KeyboardInterrupt:
        print("\nbench: interrupted; every process it started has been stopped", file=sys.stderr)
        return 130
    except DataError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    info.seconds, info.git_at_end = time.perf_counter() - began, git_state()
    text = markdown(results, evaluate(results), info)
    print("\n" + text)
    options.output.write_text(text)
    say(f"bench: {len(runs)} runs in {info.seconds:.0f} s; written to {options.output}")
    return 0 if all(result.ok or result.skipped for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
