"""What every Elasticsearch route goes through: counters, injected faults, ES-shaped errors.

One wrapper (``data_route``) applies them in the order a real path does (proxy,
authentication, then the engine), so a handler only does its API's I/O and a
fault behaves the same on every route. Reads carrying ``BYPASS_HEADER`` (the test
helpers' checks) skip it all, so checking results never trips a fault or a counter.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import struct
from collections.abc import Awaitable, Callable

from aiohttp import web

from db2api.receiver.faults import RequestFault, decide_request
from db2api.receiver.protocol import ProtocolError
from db2api.receiver.refusals import decide_refusal
from db2api.receiver.responses import error_answer, error_response, filtered, refusal_response
from db2api.receiver.state import STATE, ReceiverState

log = logging.getLogger("db2api.receiver")
BYPASS_HEADER = "X-Receiver-Bypass"  # receiver-only: no faults, not counted in /_stats
_OVERRIDE_TYPES = {
    400: "illegal_argument_exception",
    401: "security_exception",
    403: "security_exception",
    404: "index_not_found_exception",
    409: "version_conflict_engine_exception",
    429: "es_rejected_execution_exception",
}
BYPASSED = web.RequestKey("db2api.receiver.bypassed", bool)  # a read that skips faults, stats

Handler = Callable[[web.Request, ReceiverState], Awaitable[web.StreamResponse]]


class _Dropped(web.Response):
    """Stands in for the response of a connection that was reset on purpose."""


class ProxyPage(web.Response):
    """A page from something in front of Elasticsearch: it carries no product header."""


def _abort(request: web.Request) -> web.Response:
    """Reset the connection (RST, not FIN) so the client sees what a dying proxy does."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # the socket is already gone
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return _Dropped()


async def _request_faults(request: web.Request, st: ReceiverState) -> web.Response | None:
    """Apply the request-level faults in order; ``None`` means handle the request normally."""
    f, count = st.faults, st.stats.faults
    fault = decide_request(f, st.rng, st.clock() - st.faults_set_at)
    if fault is RequestFault.OUTAGE and f.outage_mode == "refuse":
        count["outage"] += 1
        return _abort(request)
    await st.sleep(f.latency_ms / 1000)
    if fault is not RequestFault.NONE:
        count[fault.value] += 1
    if fault is RequestFault.OUTAGE:
        end = f.outage_after_seconds + f.outage_seconds
        reason = f"cluster unavailable: injected outage until {end:g}s after the faults were set"
        return error_response(503, "master_not_discovered_exception", reason)
    if fault is RequestFault.RESET:
        return _abort(request)
    if fault is RequestFault.TOO_MANY:
        reason = "rejected execution: too many requests (injected by the receiver)"
        # A full write queue answers with no Retry-After on both engines: 0 sends none.
        retry = {"Retry-After": str(f.retry_after)} if f.retry_after else {}
        return error_response(429, "es_rejected_execution_exception", reason, **retry)
    if fault is RequestFault.UNAVAILABLE:
        reason = "primary shard is not active (injected by the receiver)"
        return error_response(503, "unavailable_shards_exception", reason)
    if fault is RequestFault.HANG:
        await st.sleep(f.hang_seconds)
    if f.require_auth is not None:
        given = request.headers.get("Authorization")
        if given is None or not hmac.compare_digest(given.encode(), f.require_auth.encode()):
            count["auth"] += 1
            what = "missing" if given is None else "unable to authenticate with provided"
            reason = f"{what} authentication credentials for REST request [{request.path}]"
            auth = 'Basic realm="security" charset="UTF-8"'
            return error_response(401, "security_exception", reason, **{"WWW-Authenticate": auth})
    if f.status_override is not None:
        count["status_override"] += 1
        status = f.status_override
        type_ = _OVERRIDE_TYPES.get(status, "exception")
        return error_response(status, type_, f"status {status} forced by status_override")
    if f.non_json:
        count["non_json"] += 1
        return ProxyPage(text="<html>proxy</html>", content_type="text/html")
    return None


def data_route(
    handler: Handler, *, read: bool = False
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap an Elasticsearch route with stats, faults and ES-shaped errors.

    Reads carrying the ``BYPASS_HEADER`` (the test helpers' ``get``/``count``) skip
    both, so checking results never trips over the faults or shows up in the counters.
    """

    async def wrapped(request: web.Request) -> web.StreamResponse:
        st = request.app[STATE]
        if read and BYPASS_HEADER in request.headers:
            request[BYPASSED] = True
            return filtered(request, await _answer(request, st, handler))
        stats = st.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        resp: web.StreamResponse | None = None
        try:
            resp = await _request_faults(request, st) or await _answer(request, st, handler)
        finally:
            stats.in_flight -= 1
            if resp is not None and not isinstance(resp, _Dropped):
                key = str(resp.status)
                stats.by_status[key] = stats.by_status.get(key, 0) + 1
        return filtered(request, resp)

    return wrapped


async def _answer(request: web.Request, st: ReceiverState, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request, st)
    except ProtocolError as exc:
        return error_answer(exc.body(), exc.status)
    except web.HTTPRequestEntityTooLarge:
        # As OpenSearch 2.19 and Elasticsearch 8.19 answer a body over
        # http.max_content_length: 413 with an empty body (tests/integration/engines).
        return web.Response(status=413)
    except Exception as exc:
        log.exception("receiver: %s %s failed", request.method, request.path)
        return error_response(500, "exception", f"receiver error: {exc}")


def refused_by_index(
    request: web.Request, st: ReceiverState, op: str, index: str
) -> web.Response | None:
    """A single-document request on an index the faults refuse, answered as a whole."""
    if request.get(BYPASSED):
        return None
    auth = request.headers.get("Authorization")
    refusal = decide_refusal(st.faults, op, index, auth, defined=st.store.defined)
    if refusal is None:
        return None
    if refusal.counter:
        st.stats.faults[refusal.counter] += 1
    return refusal_response(refusal)
