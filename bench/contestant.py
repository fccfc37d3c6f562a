"""``python -m bench.contestant NAME --url URL --docs N``: one measurement, one JSON line.

Each contestant runs in a fresh process so that its peak RSS is its own and one
contestant's heap, caches or threads never flatter or burden the next. Only the
module a contestant needs is imported, so recipe contestants do not carry
db2api's or Prefect's modules in their RSS. The last stdout line is the result:
``{"contestant", "docs", "seconds", "docs_per_s", "peak_rss_mib", ...}``, or
``{"contestant", "error"}`` with exit code 1.

Run one by hand against a receiver you started (``db2api receiver``), e.g. under
a profiler: ``py-spy record -o bulk.svg -- .venv/bin/python -m bench.contestant
db2api-bulk --url http://127.0.0.1:9200 --docs 1000000``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from bench.measure import Args, Measurement, status_mib, timed, timed_transfer
from bench.settings import pg_password

Contestant = Callable[[Args], Measurement]


def pipeline(
    args: Args,
    mode: str = "bulk",
    source: str = "pg",
    one_window: bool = False,
    reconcile: bool = False,
    prove: bool = True,
) -> Measurement:
    """db2api's plain-function pipeline: ``transfer_range`` over the first ``docs`` rows."""
    from dataclasses import replace

    from bench.jobs import ONE_WINDOW, WINDOW, limits, pg_job, sqlite_job
    from bench.settings import START, range_end

    window = ONE_WINDOW if one_window else WINDOW
    job = (
        sqlite_job(args.url, mode, window)  # type: ignore[arg-type]
        if source == "sqlite"
        else pg_job(args.url, mode, window=window)  # type: ignore[arg-type]
    )
    if reconcile:  # every window also searches the target for what to delete
        job = replace(job, target=replace(job.target, reconcile=True))
    if not prove:  # the _mget read-back of every acknowledged id, off
        job = replace(job, target=replace(job.target, prove=False))
    measurement = timed_transfer(job, START, range_end(args.docs), args.docs)
    measurement.extra.update(limits(job))
    return measurement


def recipe(args: Args, method: int, capped: bool = False) -> Measurement:
    from bench import recipe

    if method == 1:
        return timed(lambda: recipe.sequential(args.url, args.docs))
    limit = None
    if capped:  # db2api item mode's connection cap, read from the same job
        from bench.jobs import pg_job

        limit = pg_job(args.url, "item").concurrency
    measurement = timed(lambda: recipe.concurrent(args.url, args.docs, limit))
    measurement.extra = {"connection_limit": limit or 100}  # aiohttp's default is 100
    return measurement


def lazy(module: str, name: str) -> Contestant:
    def run(args: Args) -> Measurement:
        function: Contestant = getattr(importlib.import_module(module), name)
        return function(args)

    return run


CONTESTANTS: dict[str, Contestant] = {
    "recipe-seq": lambda args: recipe(args, 1),
    "recipe-gather": lambda args: recipe(args, 2),
    "recipe-gather-cap": lambda args: recipe(args, 2, capped=True),
    "db2api-item": lambda args: pipeline(args, "item"),
    "db2api-bulk": lambda args: pipeline(args, "bulk"),
    "db2api-bulk-unproven": lambda args: pipeline(args, "bulk", prove=False),
    "db2api-bulk-reconcile": lambda args: pipeline(args, "bulk", reconcile=True),
    "db2api-bulk-sqlite": lambda args: pipeline(args, "bulk", source="sqlite"),
    "one-window": lambda args: pipeline(args, "bulk", one_window=True),
    "extract-only": lazy("bench.halves", "extract_only"),
    "read-path": lazy("bench.halves", "read_path"),
    "upload-only": lazy("bench.halves", "upload_only"),
    "default-cursor": lazy("bench.halves", "default_cursor"),
    "flow-bulk": lazy("bench.flowrun", "flow_bulk"),
    "flow-tiny": lazy("bench.flowrun", "flow_tiny"),
    "prefect-floor": lazy("bench.floor", "prefect_floor"),
    "prefect-floor-empty": lazy("bench.floor", "empty_floor"),
    "plain-tiny": lazy("bench.flowrun", "plain_tiny"),
    "flow-empty": lazy("bench.flowrun", "flow_empty"),
    "plain-empty": lazy("bench.flowrun", "plain_empty"),
    "streaming-bulk": lambda args: clients().helper(args, parallel=False),
    "parallel-bulk": lambda args: clients().helper(args, parallel=True),
    "ceiling-4": lambda args: clients().ceiling(args, 4),
    "ceiling-8": lambda args: clients().ceiling(args, 8),
}


def clients() -> Any:
    """The engine contestants' module, imported only by them (it loads neither db2api's
    pipeline nor Prefect)."""
    return importlib.import_module("bench.clients")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.contestant", description=__doc__)
    parser.add_argument("name", choices=sorted(CONTESTANTS))
    parser.add_argument("--url", default="http://127.0.0.1:9200", help="receiver base URL")
    parser.add_argument("--docs", type=int, required=True, help="documents (rows) to move")
    parser.add_argument("--prefect-url", default="", help="Prefect API URL (flow contestants)")
    parser.add_argument(
        "--engine",
        default="",
        choices=("", "opensearch", "elasticsearch"),
        help="the search engine at --url (its official client for the helper contestants)",
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM from the orchestrator unwinds like Ctrl-C, so temporary files go too."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # Everything goes to loopback: never through a proxy from the environment.
    for variable in ("NO_PROXY", "no_proxy"):
        os.environ[variable] = "127.0.0.1,localhost"
    pg_password()  # the test database's default, unless the environment names another
    args = Args(options.url.rstrip("/"), options.docs, options.prefect_url, options.engine)
    rss_start = status_mib("VmRSS")
    try:
        measurement = CONTESTANTS[options.name](args)
    except Exception as exc:
        traceback.print_exc()
        print(json.dumps({"contestant": options.name, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    result = {
        "contestant": options.name,
        "docs": measurement.docs,
        "seconds": round(measurement.seconds, 4),
        "docs_per_s": round(measurement.docs / measurement.seconds, 1),
        "peak_rss_mib": round(status_mib("VmHWM"), 1),
        "rss_start_mib": round(rss_start, 1),
        "cpu_seconds": round(measurement.cpu_seconds, 3),
        "extra": measurement.extra,
    }
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
