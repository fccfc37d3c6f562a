"""The receiver as an aiohttp application: which route goes to which handler.

Handlers live by API family (:mod:`documents`, :mod:`indices`, :mod:`control`) and
every Elasticsearch route is wrapped by :mod:`data_routes`. SQLite runs on one worker
thread, which both serialises writes (so a bulk request's read-then-upsert is atomic)
and keeps the event loop free to count concurrent requests and answer the control routes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from db2api.receiver import control, indices
from db2api.receiver import documents as docs
from db2api.receiver.data_routes import ProxyPage, data_route
from db2api.receiver.faults import Faults
from db2api.receiver.responses import json_response, no_route
from db2api.receiver.state import STATE, ReceiverState
from db2api.receiver.store import Store

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


async def info(request: web.Request, st: ReceiverState) -> web.Response:
    return json_response(INFO)


async def add_product_header(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer says it comes from Elasticsearch, except a proxy's page."""
    if not isinstance(response, ProxyPage):
        response.headers[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]


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
    r.add_get("/_faults", control.get_faults)
    r.add_put("/_faults", control.put_faults)
    r.add_post("/_faults", control.put_faults)
    r.add_get("/_stats", control.get_stats)
    r.add_post("/_stats/reset", control.reset_stats)
    r.add_post("/_reset", control.reset_all)
    r.add_get("/{index}/_ids", control.list_ids)
    r.add_get("/", data_route(info, read=True))
    for method in ("POST", "PUT"):
        r.add_route(method, "/_bulk", data_route(docs.bulk))
        r.add_route(method, "/{index}/_bulk", data_route(docs.bulk))
        r.add_route(method, "/{index}/{op:_doc|_create}/{id}", data_route(docs.put_doc))
    r.add_post("/{index}/_doc", data_route(docs.put_doc))
    r.add_get("/{index}/_doc/{id}", data_route(docs.get_doc, read=True))
    r.add_delete("/{index}/_doc/{id}", data_route(docs.delete_doc))
    r.add_post("/{index}/_update/{id}", data_route(docs.update_doc))
    r.add_get("/{index}/_count", data_route(docs.count, read=True))
    r.add_post("/{index}/_count", data_route(docs.count, read=True))
    for path in ("/_mget", "/{index}/_mget"):
        r.add_get(path, data_route(docs.mget, read=True))
        r.add_post(path, data_route(docs.mget, read=True))
    for path in ("/_search", "/{index}/_search"):
        r.add_get(path, data_route(docs.search, read=True))
        r.add_post(path, data_route(docs.search, read=True))
    indices.add_routes(r, data_route)
    r.add_route("*", "/{tail:.*}", no_route)
    return app
