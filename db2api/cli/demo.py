"""``db2api demo``: the demo transfer through a local Prefect server."""

from __future__ import annotations

import argparse

from db2api.ops.demo import run_demo


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(mode=args.mode, build_only=args.build_only, force=args.force)
