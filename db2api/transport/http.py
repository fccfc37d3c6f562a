"""The one place db2api touches the network.

``send(session, request) -> Response`` turns aiohttp's exception zoo into three
kinds of :class:`TransportError` (timeout, connection, tls) that the retry policy
understands. Everything above this seam works on plain values.

Redirects are never followed: a 3xx would carry the documents and the credential
headers to wherever ``Location`` points, so it stops the run instead. URLs are sent
as built (already percent-encoded), so an id such as ``%2E%2E`` is never turned into
``..`` and resolved away.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from db2api.errors import TargetError


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body[:2000].decode("utf-8", "replace")


class TransportError(Exception):
    """No HTTP answer came back. ``kind`` is "timeout", "connection" or "tls"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, str(self)))


KEPT = ("Retry-After", "Content-Type")


async def send(session: aiohttp.ClientSession, request: Request) -> Response:
    try:
        async with session.request(
            request.method,
            URL(request.url, encoded=True),
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
        ) as response:
            if 300 <= response.status < 400:
                raise redirected(request, response.status, response.headers.get("Location"))
            body = await response.read()
            # Only the headers db2api reads: copying them all costs per document.
            kept = {name: value for name in KEPT if (value := response.headers.get(name))}
            return Response(response.status, body, kept)
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        raise TransportError("tls", _tls_reason(exc)) from exc
    except TimeoutError as exc:
        raise TransportError("timeout", "no answer within the timeout") from exc
    except aiohttp.ClientConnectorError as exc:
        raise TransportError("connection", f"cannot connect: {exc.os_error or exc}") from exc
    except (aiohttp.ClientError, ConnectionError) as exc:
        raise TransportError("connection", f"{type(exc).__name__}: {exc}") from exc


def redirected(request: Request, status: int, location: str | None) -> TargetError:
    where = "no Location" if not location else location.split("?")[0].split("#")[0]
    if location and len(where) < len(location):
        where += "?…"  # a query may hold a signed token
    # Without the query: db2api's own (the _bulk answer filter) is noise, a job's may hold a token.
    sent = request.url.split("?")[0]
    return TargetError(
        f"target answered {request.method} {sent} with HTTP {status}, a redirect to "
        f"{where}: db2api never follows redirects, so documents and credentials go only to "
        "target.url: point target.url at the final address"
    )


def _tls_reason(exc: Exception) -> str:
    """OpenSSL's own words, e.g. "certificate verify failed: self-signed certificate"."""
    cause = getattr(exc, "certificate_error", None) or exc
    detail = getattr(cause, "verify_message", None)
    if isinstance(cause, ssl.SSLCertVerificationError) and detail:
        return f"certificate verify failed: {detail}"
    return f"{type(cause).__name__}: {cause}"


def open_session(
    concurrency: int,
    timeout: float,
    verify_tls: bool = True,
    headers: dict[str, str] | None = None,
    ca_file: str | None = None,
) -> aiohttp.ClientSession:
    """One session and connection pool for a whole run."""
    tls: ssl.SSLContext | bool | None = None  # aiohttp's default: verify against the system
    if not verify_tls:
        tls = False
    elif ca_file:
        try:
            tls = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TargetError(
                f"target.ca_file {ca_file} cannot be read ({why}): give the path of the PEM "
                "certificate of the CA that signed the target's certificate"
            ) from None
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, ssl=tls)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers=headers or {},
        raise_for_status=False,
    )
