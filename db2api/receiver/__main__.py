"""``python -m db2api.receiver``: run the local Elasticsearch stand-in from a shell.

Every failure a user can cause (a bad flag value, a busy port, an unreadable data
file) ends in one ``receiver: ...`` line and a non-zero exit, never a traceback, and
the first stdout line is always the address, so scripts and ``ReceiverProcess`` can
start it on ``--port 0`` and read where it landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import signal
import socket
import ssl
import sys

from aiohttp import web

from db2api.receiver.app import create_app
from db2api.receiver.faults import FaultError, Faults
from db2api.receiver.flags import UsageError, build_parser, faults_from_args, flag_for
from db2api.receiver.store import Store, StoreError


def main(argv: list[str] | None = None, *, prog: str = "python -m db2api.receiver") -> int:
    """Run until SIGINT/SIGTERM; returns 0, or 2 for bad flags and 1 when it cannot start."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535 (got {args.port})")
        faults = faults_from_args(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
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
    except (OSError, ssl.SSLError, UsageError) as exc:
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
        raise UsageError("give both --tls-cert and --tls-key")
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
