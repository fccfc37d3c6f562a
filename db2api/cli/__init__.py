"""``db2api``: a thin command line over the library and the Prefect flow.

Each command parses, calls one function, and turns a :class:`Db2apiError` into one
line on stderr with exit status 2 (bad input) or 1 (the run itself failed); 3 says
the target stayed unavailable past the job's ``give_up_after`` (nothing was lost).
``--debug`` shows the traceback of anything unexpected.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from db2api.cli.args import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE, exit_status
from db2api.cli.commands import add_commands
from db2api.errors import Db2apiError
from db2api.run.interrupt import Interrupted

__all__ = ["EXIT_FAILED", "EXIT_UNAVAILABLE", "EXIT_USAGE", "exit_status", "main", "parser"]

Handler = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="db2api",
        description="Move rows from a database to an HTTP API in resumable, idempotent windows.",
    )
    root.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(commands)
    return root


def handler(name: str) -> Handler:
    """The command's function, from its ``"module:function"`` name.

    The one deferred import of the command line, on purpose: a handler module imports
    what its command needs (Prefect, for the commands that run or ask the server), so
    importing it only once its command is chosen keeps ``--help``, ``jobs``, ``check``,
    ``deadletters`` and ``receiver`` from paying about a second for Prefect they never use.
    """
    module, function = name.split(":")
    found: Handler = getattr(importlib.import_module(module), function)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    root = parser()
    # The receiver has its own parser: its options (``--help`` included) go to it
    # untouched; argparse's REMAINDER alone drops a leading option.
    args, unknown = root.parse_known_args(argv)
    if args.command == "receiver":
        args.receiver_args = [*unknown, *args.receiver_args]
    elif unknown:
        root.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return handler(args.handler)(args)
    except Interrupted as exc:
        print(f"db2api: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Db2apiError as exc:
        print(f"db2api: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("db2api: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"db2api: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED
