"""Reaching the target before a run sends: is anything listening, and how a run signs in.

Shared by a run (:mod:`db2api.run.runtime`) and ``db2api check``
(:mod:`db2api.ops.check_target`), which must ask the same questions the same way.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from urllib.parse import urlsplit

from db2api.errors import TargetError


def auth_header(scheme: str, value: str) -> str:
    if scheme.lower() == "basic":
        return "Basic " + base64.b64encode(value.encode()).decode()
    return f"{scheme} {value}".strip()


async def preflight(url: str, job: str) -> None:
    """Fail in one line when nothing listens at the target, before reading any rows."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), 10)
    except (OSError, TimeoutError) as exc:
        reason = (
            "connection refused"
            if isinstance(exc, ConnectionRefusedError)
            else "host name not found"
            if isinstance(exc, socket.gaierror)
            else "timed out"
            if isinstance(exc, TimeoutError)
            else exc.strerror or type(exc).__name__
        )
        raise TargetError(
            f"cannot reach target {parts.scheme}://{parts.hostname}:{port} for job {job!r}: "
            f"{reason}; check that it is running and that target.url is right"
        ) from None
    writer.close()
    await writer.wait_closed()


#: Headers that never carry a credential; every other header value is masked.
PLAIN_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "cache-control", "content-type", "user-agent"}
)
