"""The receiver's command line: every flag, its help, and the faults it stands for.

Each fault setting has a flag derived from its name, so ``PUT /_faults`` and the
command line speak of the same knobs; a bad value becomes one line naming the flag
(``UsageError``) instead of argparse's usage dump, so a script sees what to fix.
"""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from db2api.receiver.faults import READ_ONLY_MODES, Faults

DEFAULT_DATA = "./.db2api/receiver.sqlite"
FLAGS = {"outage_after_seconds": "--outage-after"}  # fault field -> CLI flag, where not derived


def flag_for(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


class UsageError(Exception):
    """A flag value the receiver cannot start with; its text is the whole message."""


class _Parser(argparse.ArgumentParser):
    """Turns argparse's usage-plus-message into one line the caller prints."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(re.sub(r"^argument ([^:/ ]+)[^:]*: ", r"\1 ", message))


def _float_arg(text: str) -> float:
    try:  # "2" stays 2 so an error message shows the value as it was typed
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None


def _int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None


def build_parser(prog: str = "python -m db2api.receiver") -> argparse.ArgumentParser:
    num, whole = _float_arg, _int_arg
    p = _Parser(
        prog=prog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run a local stand-in for Elasticsearch, to try a job before pointing it at\n"
            "production. It accepts _doc, _create, _update, _bulk, _mget, _count and _search\n"
            "requests and the index APIs (PUT/HEAD/GET/DELETE /{index}, _mapping), keeps\n"
            "documents and index definitions in a SQLite file, and can inject faults (latency,\n"
            "429/503, resets, hangs, outages, rejected bulk items, refusing indices) to show\n"
            "how the job copes."
        ),
        epilog=(
            "while it runs:\n"
            "  GET /_stats                  requests, statuses and faults seen so far\n"
            "  GET|PUT /_faults             show or replace the faults (JSON, field names\n"
            "                               like rate_429; unnamed ones go back to off)\n"
            "  POST /_reset                 delete all documents and zero the stats\n"
            "  GET /INDEX/_ids              every id with its version\n"
            "examples:\n"
            "  %(prog)s --port 0\n"
            "  %(prog)s --rate-429 0.1 --retry-after 2 --bulk-item-400 0.01 --seed 7"
        ),
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); anything else exposes the receiver, "
        "which has no TLS and unauthenticated control routes, to other machines",
    )
    p.add_argument(
        "--port", type=whole, default=9200, metavar="N", help="default 9200; 0 picks a free port"
    )
    p.add_argument(
        "--data", default=DEFAULT_DATA, metavar="PATH", help=f"SQLite file (default {DEFAULT_DATA})"
    )
    p.add_argument("--seed", type=whole, metavar="N", help="make fault decisions repeatable")
    p.add_argument("--quiet", action="store_true", help="print only the 'listening on' line")
    p.add_argument("--access-log", action="store_true", help="log every request (slower)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain)")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    g = p.add_argument_group("faults (all off by default; rates are probabilities from 0 to 1)")
    g.add_argument(
        "--latency-ms", type=num, default=0.0, metavar="MS", help="added to every request"
    )
    g.add_argument("--rate-429", type=num, default=0.0, metavar="P", help="answer 429")
    g.add_argument(
        "--retry-after",
        type=whole,
        default=1,
        metavar="S",
        help="Retry-After of a 429 (default 1; 0: no header, as the real engines send)",
    )
    g.add_argument("--rate-503", type=num, default=0.0, metavar="P", help="answer 503")
    g.add_argument("--rate-reset", type=num, default=0.0, metavar="P", help="reset the connection")
    g.add_argument("--rate-hang", type=num, default=0.0, metavar="P", help="hang, then answer")
    g.add_argument(
        "--hang-seconds", type=num, default=60.0, metavar="S", help="length of a hang (default 60)"
    )
    g.add_argument(
        "--outage-after", type=num, default=0.0, metavar="S", help="outage starts S seconds in"
    )
    g.add_argument("--outage-seconds", type=num, default=0.0, metavar="S", help="outage length")
    g.add_argument(
        "--outage-mode", default="503", metavar="MODE", help="503 (default) or refuse (reset)"
    )
    g.add_argument("--bulk-item-429", type=num, default=0.0, metavar="P", help="bulk items 429")
    g.add_argument("--bulk-item-400", type=num, default=0.0, metavar="P", help="bulk items 400")
    g.add_argument(
        "--bulk-item-lost",
        type=num,
        default=0.0,
        metavar="P",
        help="bulk items answered 201 but not stored (a lying target)",
    )
    g.add_argument(
        "--reject-field", metavar="FIELD", help="answer 400 for documents where FIELD is VALUE"
    )
    g.add_argument("--reject-value", metavar="VALUE", help='the VALUE (5 matches both 5 and "5")')
    g.add_argument(
        "--require-auth", metavar="HEADER", help="exact Authorization header value to require"
    )
    g.add_argument(
        "--status-override", type=whole, metavar="CODE", help="answer every request with CODE"
    )
    g.add_argument("--non-json", action="store_true", help="answer 200 text/html, like a proxy")
    g.add_argument(
        "--index-missing",
        action="store_true",
        help="auto-creation is off and only indices created with PUT /{index} exist: "
        "other reads and writes answer 404 index_not_found",
    )
    g.add_argument(
        "--read-only",
        choices=READ_ONLY_MODES,
        metavar="MODE",
        help="block writes to every index: write_block (403), flood_stage (429, lets deletes "
        "through) or flood_stage_legacy (the 403 older Elasticsearch versions answer)",
    )
    g.add_argument(
        "--no-privileges",
        action="store_true",
        help="the caller may not write to any index: writes answer 403 security_exception",
    )
    g.add_argument(
        "--data-stream",
        action="store_true",
        help="every index is a data stream: only create writes are accepted, and a GET by id "
        "or an _mget entry answers 404 index_not_found_exception (excluded_ds)",
    )
    return p


def faults_from_args(args: argparse.Namespace) -> Faults:
    values = {
        f: getattr(args, flag_for(f)[2:].replace("-", "_")) for f in Faults.__dataclass_fields__
    }
    if args.reject_field is not None and args.reject_value is None:
        raise UsageError("--reject-field needs --reject-value (use null to match JSON null)")
    return Faults(**values)
