"""``python -m db2api.receiver``: run the local Elasticsearch stand-in from a shell.

Every failure a user can cause (a bad flag value, a busy port, an unreadable data
file) ends in one ``receiver: ...`` line and a non-zero exit, never a traceback, and
the first stdout line is always the address, so scripts and ``ReceiverProcess`` can
start it on ``--port 0`` and read where it landed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import re
import signal
import socket
import ssl
import sys
from typing import NoReturn

from aiohttp import web

from db2api.receiver.app import create_app
from db2api.receiver.faults import READ_ONLY_MODES, FaultError, Faults
from db2api.receiver.store import Store, StoreError

DEFAULT_DATA = "./.db2api/receiver.sqlite"
FLAGS = {"outage_after_seconds": "--outage-after"}  # fault field -> CLI flag, where not derived


def flag_for(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Turns argparse's usage-plus-message into one line the caller prints."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(re.sub(r"^argument ([^:/ ]+)[^:]*: ", r"\1 ", message))


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
        "--retry-after", type=whole, default=1, metavar="S", help="Retry-After of a 429 (default 1)"
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
        help="every index is a data stream: only create writes are accepted",
    )
    return p


def faults_from_args(args: argparse.Namespace) -> Faults:
    values = {
        f: getattr(args, flag_for(f)[2:].replace("-", "_")) for f in Faults.__dataclass_fields__
    }
    if args.reject_field is not None and args.reject_value is None:
        raise _UsageError("--reject-field needs --reject-value (use null to match JSON null)")
    return Faults(**values)


def main(argv: list[str] | None = None, *, prog: str = "python -m db2api.receiver") -> int:
    """Run until SIGINT/SIGTERM; returns 0, or 2 for bad flags and 1 when it cannot start."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
        if not 0 <= args.port <= 65535:
            raise _UsageError(f"--port must be between 0 and 65535 (got {args.port})")
        faults = faults_from_args(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except _UsageError as exc:
        return _fail(str(exc), 2)
    except FaultError as exc:
        return _fail(exc.describe(flag_for), 2)
    logging.basicConfig(
        level=logging.ERROR if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        tls = _tls_context(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError, _UsageError) as exc:
        return _fail(f"cannot use --tls-cert/--tls-key: {exc}", 2)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        why = (
            "address already in use; pick another --port or 0 for a free one"
            if exc.errno == errno.EADDRINUSE
            else (exc.strerror or str(exc)).lower()
        )
        return _fail(f"cannot listen on {args.host}:{args.port}: {why}", 1)
    try:
        store = Store(args.data)
    except StoreError as exc:
        sock.close()
        return _fail(exc.message, 1)
    with store:
        if not args.quiet:
            _say(f"storing documents in {store.path}; {_describe(faults)}; Ctrl-C stops")
        if not _is_loopback(sock):
            _say(
                f"warning: on {args.host} the receiver (no TLS, open control routes) is "
                "reachable from other machines; use --host 127.0.0.1 unless you mean that"
            )
        # KeyboardInterrupt only arrives when signal handlers could not be installed.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(create_app(store, faults), sock, args.access_log, tls))
    return 0


def _tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise _UsageError("give both --tls-cert and --tls-key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def _serve(
    app: web.Application, sock: socket.socket, access_log: bool, tls: ssl.SSLContext | None
) -> None:
    logger = logging.getLogger("aiohttp.access") if access_log else None
    if logger is not None:
        logger.setLevel(logging.INFO)  # asked for explicitly, so shown even with --quiet
    runner = web.AppRunner(app, access_log=logger, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await web.SockSite(runner, sock, ssl_context=tls).start()
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"listening on {'https' if tls else 'http'}://{shown}:{port}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart despite TIME_WAIT
        sock.bind(addr)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _is_loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def _describe(faults: Faults) -> str:
    defaults = Faults().to_public_dict()
    changed = {k: v for k, v in faults.to_public_dict().items() if v != defaults[k]}
    return "faults: " + (", ".join(f"{k}={v}" for k, v in changed.items()) or "none")


def _say(line: str) -> None:
    print(f"receiver: {line}", file=sys.stderr, flush=True)


def _fail(message: str, code: int) -> int:
    _say(" ".join(message.split()))
    return code


if __name__ == "__main__":
    sys.exit(main())
