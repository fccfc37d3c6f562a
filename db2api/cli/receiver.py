"""``db2api receiver``: the local receiver, which stands alone (no Prefect)."""

from __future__ import annotations

import argparse

from db2api.receiver.__main__ import main as receiver_main


def cmd_receiver(args: argparse.Namespace) -> int:
    return receiver_main(args.receiver_args, prog="db2api receiver")
