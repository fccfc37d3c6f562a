"""Run one node in the foreground: ``python -m tests.support.search_nodes opensearch --port 9201``.

``make opensearch`` and ``make elasticsearch`` call this after ``.ci/setup-search-nodes``.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from pathlib import Path

from tests.support.search_nodes.launcher import (
    ENGINES,
    ROOT,
    NodeStartError,
    NodeUnavailable,
    parse_settings,
)
from tests.support.search_nodes.node import SearchNode


def main(argv: Sequence[str] | None = None) -> int:
    """Run one node in the foreground until Ctrl-C; 1 if it cannot start or dies."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.search_nodes")
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("--port", type=int, default=0, help="HTTP port on 127.0.0.1 (0: any)")
    parser.add_argument("--data", type=Path, help="data folder (default .db2api/<engine>-data)")
    parser.add_argument("settings", nargs="*", help="node settings as key=value")
    args = parser.parse_args(argv)
    try:
        settings = parse_settings(args.settings)
    except ValueError as exc:
        parser.error(str(exc))
    node = SearchNode(
        args.engine,
        args.data or ROOT / ".db2api" / f"{args.engine}-data",
        port=args.port,
        settings=settings,
    )
    try:
        node.start()
    except (NodeUnavailable, NodeStartError) as exc:
        print(f"error: {exc}")
        return 1
    print(f"{node.engine} {node.version} at {node.url}, data and node.log in {node.data}")
    print("Ctrl-C stops it")
    try:
        code = node.wait()
        print(f"the node exited with code {code}; see {node.log_path}")
        return 1
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.stop()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
