"""The receiver's HTTP layer: Elasticsearch-shaped data routes plus control routes.

Handlers only do I/O and bookkeeping; parsing, fault decisions and response shapes
live in :mod:`protocol` and :mod:`faults`. SQLite runs on one worker thread, which
both serialises writes (so a bulk request's read-then-upsert is atomic) and keeps the
event loop free to count concurrent requests and answer the control routes.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from db2api.receiver import indices
from db2api.receiver import protocol as es
from db2api.receiver.faults import FaultError, Faults, RequestFault, decide_request
from db2api.receiver.faults import matches_reject_rule as _rejects
from db2api.receiver.mapping import document_refusal
from db2api.receiver.refusals import decide_refusal
from db2api.receiver.responses import error_response, json_response, no_route, refusal_response
from db2api.receiver.search import parse_search, run_search
from db2api.receiver.state import ReceiverState
from db2api.receiver.store import Store, WriteOp

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
PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")  # the official client checks it
# GET / as Elasticsearch answers it (elastic/elasticsearch-specification,
# specification/_global/info/examples/response/RootNodeInfoResponseExample1.yaml); the
# receiver speaks the 8.x wire format, so it presents itself as an 8.x node.
INFO = {
    "name": "db2api-receiver",
    "cluster_name": "local",
    "cluster_uuid": "ZGIyYXBpLXJlY2VpdmVy",
    "version": {
        "number": "8.17.0",
        "build_flavor": "default",
        "build_type": "tar",
        "build_hash": "db2api-receiver",
        "build_date": "2024-12-11T12:08:05.663969764Z",
        "build_snapshot": False,
        "lucene_version": "9.12.0",
        "minimum_wire_compatibility_version": "7.17.0",
        "minimum_index_compatibility_version": "7.0.0",
    },
    "tagline": "You Know, for Search",
}
BYPASSED = "db2api.receiver.bypassed"  # request key: a read that skips faults and stats


STATE = web.AppKey("receiver_state", ReceiverState)
Handler = Callable[[web.Request, ReceiverState], Awaitable[web.StreamResponse]]


class _Dropped(web.Response):
    """Stands in for the response of a connection that was reset on purpose."""


class _ProxyPage(web.Response):
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
        retry = str(f.retry_after)
        return error_response(
            429, "es_rejected_execution_exception", reason, **{"Retry-After": retry}
        )
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
        return _ProxyPage(text="<html>proxy</html>", content_type="text/html")
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
            return await _answer(request, st, handler)
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
        return resp

    return wrapped


async def _answer(request: web.Request, st: ReceiverState, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request, st)
    except es.ProtocolError as exc:
        return json_response(exc.body(), exc.status)
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, "content_too_long_exception", exc.text or "body too large")
    except Exception as exc:
        log.exception("receiver: %s %s failed", request.method, request.path)
        return error_response(500, "exception", f"receiver error: {exc}")


async def info(request: web.Request, st: ReceiverState) -> web.Response:
    return json_response(INFO)


def _refused(request: web.Request, st: ReceiverState, op: str, index: str) -> web.Response | None:
    """A single-document request on an index the faults refuse, answered as a whole."""
    if request.get(BYPASSED):
        return None
    auth = request.headers.get("Authorization")
    refusal = decide_refusal(st.faults, op, index, auth, defined=st.store.defined)
    if refusal is None:
        return None
    if refusal.counter:
        st.stats.faults[refusal.counter] += 1
    return json_response(refusal.body(), refusal.status)


async def put_doc(request: web.Request, st: ReceiverState) -> web.Response:
    index = request.match_info["index"]
    given_id = request.match_info.get("id")
    doc_id = given_id or es.new_id()
    create = request.match_info.get("op") == "_create" or request.query.get("op_type") == "create"
    problem = es.check_target(index, doc_id)
    if problem:
        return refusal_response(problem)
    # A document without an id can only be new: Elasticsearch makes it a create.
    refused = _refused(request, st, "create" if create or not given_id else "index", index)
    if refused:
        return refused
    body = await request.read()
    doc, reason = es.parse_source(body)
    if doc is None:
        return error_response(400, "mapper_parsing_exception", reason)
    if _rejects(st.faults, doc):
        st.stats.faults["rule_400"] += 1
        assert st.faults.reject_field is not None
        return error_response(
            400, "mapper_parsing_exception", es.rule_reason(st.faults.reject_field, doc_id)
        )
    unmapped = document_refusal(st.store.defined.get(index), doc, doc_id, None)
    if unmapped:
        return refusal_response(unmapped)
    op = WriteOp("create" if create else "index", index, doc_id, body.decode())
    result = await st.write_one(op)
    if result.status == 409:
        error = es.write_error(index, doc_id, result)
        return json_response(error.body(), error.status)
    st.stats.docs_written += 1
    return json_response(es.write_body(index, doc_id, result), result.status)


async def update_doc(request: web.Request, st: ReceiverState) -> web.Response:
    """``POST /{index}/_update/{id}`` with ``doc`` (and ``doc_as_upsert`` or ``upsert``)."""
    index, doc_id = request.match_info["index"], request.match_info["id"]
    problem = es.check_target(index, doc_id)
    if problem:
        return refusal_response(problem)
    refused = _refused(request, st, "update", index)
    if refused:
        return refused
    doc, upsert = es.update_parts(await request.read(), 0)
    unmapped = document_refusal(st.store.defined.get(index), orjson.loads(doc), doc_id, upsert)
    if unmapped:
        return refusal_response(unmapped)
    op = WriteOp("update", index, doc_id, doc.decode(), upsert and upsert.decode())
    result = await st.write_one(op)
    if result.result == "document_missing":
        error = es.write_error(index, doc_id, result)
        return json_response(error.body(), error.status)
    if result.result != "noop":
        st.stats.docs_written += 1
    return json_response(es.write_body(index, doc_id, result), result.status)


async def delete_doc(request: web.Request, st: ReceiverState) -> web.Response:
    """``DELETE /{index}/_doc/{id}``: 200 ``deleted``, or 404 ``not_found`` as ES answers."""
    index, doc_id = request.match_info["index"], request.match_info["id"]
    refused = _refused(request, st, "delete", index)
    if refused:
        return refused
    result = await st.write_one(WriteOp("delete", index, doc_id, None))
    return json_response(es.write_body(index, doc_id, result), result.status)


async def get_doc(request: web.Request, st: ReceiverState) -> web.Response:
    index, doc_id = request.match_info["index"], request.match_info["id"]
    refused = _refused(request, st, "get", index)
    if refused:
        return refused
    source = es.parse_source_param(request.query.get("_source", True))
    found = await st.db(st.store.get, index, doc_id)
    return json_response(es.doc_body(index, doc_id, found, source), 200 if found else 404)


async def bulk(request: web.Request, st: ReceiverState) -> web.Response:
    started = time.perf_counter()
    actions = es.parse_bulk(await request.read(), request.match_info.get("index"))
    st.stats.bulk_items += len(actions)
    auth = request.headers.get("Authorization")
    ops, positions, counts = es.plan_bulk(actions, st.faults, st.rng, auth, st.store.defined)
    for name, n in counts.items():
        st.stats.faults[name] += n
    results = await st.db(st.store.write, ops) if ops else []
    st.stats.docs_written += sum(1 for r in results if r.result in ("created", "updated"))
    took = int((time.perf_counter() - started) * 1000)
    return json_response(es.bulk_response(actions, positions, results, took))


async def count(request: web.Request, st: ReceiverState) -> web.Response:
    index = request.match_info["index"]
    field, bounds = es.parse_count_query(await request.read())
    refused = _refused(request, st, "get", index)
    if refused:
        return refused
    try:
        n = await st.db(st.store.count, index, field, bounds)
    except ValueError as exc:
        return error_response(400, "parsing_exception", str(exc))
    if n is None:
        return error_response(404, "index_not_found_exception", f"no such index [{index}]")
    return json_response({"count": n, "_shards": {**es.SHARDS, "skipped": 0}})


async def mget(request: web.Request, st: ReceiverState) -> web.Response:
    """``_mget`` by ``ids`` or ``docs``, with ``_source`` unless asked to leave it out."""
    wanted = es.parse_mget(
        await request.read(), request.match_info.get("index"), request.query.get("_source")
    )
    by_index: dict[str, list[es.MgetDoc]] = {}
    for doc in wanted:
        by_index.setdefault(doc.index, []).append(doc)
    found: dict[tuple[str, str], tuple[int, str]] = {}
    refusals = {}
    for index, docs in by_index.items():
        bypassed, defined = request.get(BYPASSED), st.store.defined
        refusal = None if bypassed else decide_refusal(st.faults, "get", index, defined=defined)
        if refusal is not None:
            refusals[index] = refusal
            continue
        ids = [doc.id for doc in docs]
        if any(doc.source is not False for doc in docs):
            stored = await st.db(st.store.documents, index, ids)
        else:  # only existence and versions: no bodies to read
            versions = await st.db(st.store.versions_of, index, ids)
            stored = {doc_id: (version, "{}") for doc_id, version in versions.items()}
        found.update(((index, doc_id), hit) for doc_id, hit in stored.items())
    answers = [
        {"_index": doc.index, "_id": doc.id, "error": refusals[doc.index].body()["error"]}
        if doc.index in refusals
        else es.doc_body(doc.index, doc.id, found.get((doc.index, doc.id)), doc.source)
        for doc in wanted
    ]
    return json_response({"docs": answers})


async def search(request: web.Request, st: ReceiverState) -> web.Response:
    """``_search`` by ``range`` and ``term`` filters, sorted, paged with ``search_after``."""
    started = time.perf_counter()
    index = request.match_info.get("index")
    query = parse_search(await request.read(), dict(request.query))
    refused = _refused(request, st, "get", index) if index else None
    if refused:
        return refused
    took = int((time.perf_counter() - started) * 1000)
    return json_response(await st.db(run_search, st.store, index, query, took))


async def add_product_header(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer says it comes from Elasticsearch, except a proxy's page."""
    if not isinstance(response, _ProxyPage):
        response.headers[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].faults.to_public_dict())


async def put_faults(request: web.Request) -> web.Response:
    st = request.app[STATE]
    try:
        data = orjson.loads(await request.read() or b"{}")
        if not isinstance(data, dict):
            raise FaultError(
                ("body",), "must be a JSON object of fault settings", type(data).__name__
            )
        faults = Faults.from_mapping(data, st.faults)
    except (orjson.JSONDecodeError, FaultError, TypeError) as exc:
        return error_response(400, "illegal_argument_exception", " ".join(str(exc).split()))
    st.set_faults(faults)
    return json_response(faults.to_public_dict())


async def get_stats(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].stats.to_dict())


async def reset_stats(request: web.Request) -> web.Response:
    request.app[STATE].stats.reset()
    return json_response({"acknowledged": True})


async def reset_all(request: web.Request) -> web.Response:
    st = request.app[STATE]
    deleted = await st.db(st.store.clear)
    st.stats.reset()
    return json_response({"acknowledged": True, "deleted": deleted})


async def list_ids(request: web.Request) -> web.Response:
    st, index = request.app[STATE], request.match_info["index"]
    ids = await st.db(st.store.ids, index)
    if ids is None:
        return error_response(404, "index_not_found_exception", f"no such index [{index}]")
    return json_response({"ids": ids})


def create_app(
    store: Store,
    faults: Faults | None = None,
    *,
    max_body_bytes: int = 100 * 1024 * 1024,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The receiver as an aiohttp app; the caller owns ``store`` and closes it after the app.

    ``max_body_bytes`` matches Elasticsearch's default ``http.max_content_length``.
    ``clock`` times the outage window (injectable for tests).
    """
    app = web.Application(client_max_size=max_body_bytes)
    state = ReceiverState(store, faults or Faults(), clock)
    app[STATE] = state

    async def on_shutdown(_: web.Application) -> None:
        state.stopping.set()

    async def on_cleanup(_: web.Application) -> None:
        state.executor.shutdown(wait=True)

    app.on_response_prepare.append(add_product_header)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    r = app.router
    r.add_get("/_faults", get_faults)
    r.add_put("/_faults", put_faults)
    r.add_post("/_faults", put_faults)
    r.add_get("/_stats", get_stats)
    r.add_post("/_stats/reset", reset_stats)
    r.add_post("/_reset", reset_all)
    r.add_get("/{index}/_ids", list_ids)
    r.add_get("/", data_route(info, read=True))
    for method in ("POST", "PUT"):
        r.add_route(method, "/_bulk", data_route(bulk))
        r.add_route(method, "/{index}/_bulk", data_route(bulk))
        r.add_route(method, "/{index}/{op:_doc|_create}/{id}", data_route(put_doc))
    r.add_post("/{index}/_doc", data_route(put_doc))
    r.add_get("/{index}/_doc/{id}", data_route(get_doc, read=True))
    r.add_delete("/{index}/_doc/{id}", data_route(delete_doc))
    r.add_post("/{index}/_update/{id}", data_route(update_doc))
    r.add_get("/{index}/_count", data_route(count, read=True))
    r.add_post("/{index}/_count", data_route(count, read=True))
    for path in ("/_mget", "/{index}/_mget"):
        r.add_get(path, data_route(mget, read=True))
        r.add_post(path, data_route(mget, read=True))
    for path in ("/_search", "/{index}/_search"):
        r.add_get(path, data_route(search, read=True))
        r.add_post(path, data_route(search, read=True))
    indices.add_routes(r, data_route)
    r.add_route("*", "/{tail:.*}", no_route)
    return app
