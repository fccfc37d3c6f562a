"""``db2api demo`` and ``receiver``: the demo transfer and the local receiver."""

from __future__ import annotations

import argparse

from db2api.ops.demo import run_demo
from db2api.receiver.__main__ import main as receiver_main


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(mode=args.mode, build_only=args.build_only, force=args.force)


def cmd_receiver(args: argparse.Namespace) -> int:
    return receiver_main(args.receiver_args, prog="db2api receiver")


def add_commands(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="SQLite demo data -> local receiver, through a local Prefect server"
    )
    demo.add_argument("--mode", choices=("bulk", "item"), default="bulk", help="upload mode")
    demo.add_argument("--build-only", action="store_true", help="only build the demo database")
    demo.add_argument("--force", action="store_true", help="send windows already done again")
    demo.set_defaults(func=cmd_demo)
    receiver = commands.add_parser(
        "receiver",
        help="start the local Elasticsearch-like receiver (see `receiver --help`)",
        add_help=False,
    )
    receiver.add_argument("receiver_args", nargs=argparse.REMAINDER)
    receiver.set_defaults(func=cmd_receiver)
