"""The index APIs: create, exists, get, mappings, delete, refresh.

How they meet the rest of the receiver:

- An index exists once ``PUT /{index}`` created it, or while it holds documents:
  writes to an index nobody created still auto-create it, as Elasticsearch does with
  ``action.auto_create_index`` on.
- The ``index_missing`` fault turns auto-create off: only created indices exist, for
  these APIs as for documents, so a job that creates its index first still works.
- The other index-level faults (``read_only``, ``no_privileges``, ``data_stream``)
  refuse documents only; the request-level faults (429, 503, resets, auth) apply here
  too, as every data route goes through the same wrapper.
- A created index's mapping can refuse documents (``mapped_documents.document_refusal``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.mapping import (
    IndexRequestError,
    parse_create,
    parse_mapping_update,
    with_mapping,
)
from db2api.receiver.refusals import already_exists, index_uuid, invalid_name, no_such_index
from db2api.receiver.responses import json_response, refusal_response
from db2api.receiver.state import ReceiverState

Handler = Callable[[web.Request, ReceiverState], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Names starting with "_" are APIs (/_cluster, /_cat): those fall through to "no handler".
_NAMED = "/{index:[^_/][^/]*}"
_ACKNOWLEDGED = {"acknowledged": True}


def _answers_refusals(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request, st: ReceiverState) -> web.StreamResponse:
        try:
            return await handler(request, st)
        except IndexRequestError as exc:
            return refusal_response(exc.refusal)

    return wrapped


async def _exists(st: ReceiverState, index: str) -> bool:
    if index in st.store.defined:
        return True
    return not st.faults.index_missing and await st.db(st.store.index_exists, index)


def _is_expression(index: str) -> bool:
    """``_all``, a wildcard or a list: it may match nothing without an error."""
    return index.startswith("_") or any(char in index for char in "*,")


def index_body(definition: IndexDefinition) -> dict[str, Any]:
    """``GET /{index}``: aliases, mappings and settings nested back under ``index``."""
    flat = {
        "index.number_of_shards": "1",
        "index.number_of_replicas": "1",
        **definition.settings,
        "index.creation_date": str(definition.created_ms),
        "index.uuid": index_uuid(definition.name),
        "index.provided_name": definition.name,
    }
    settings: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        *parents, last = key.split(".")
        node = settings
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return {"aliases": definition.aliases, "mappings": definition.mappings, "settings": settings}


async def create_index(request: web.Request, st: ReceiverState) -> web.Response:
    """``PUT /{index}`` with optional ``settings``, ``mappings`` and ``aliases``.

    Answers as IndicesCreateResponse (elastic/elasticsearch-specification,
    specification/indices/create/IndicesCreateResponse.ts: acknowledged,
    shards_acknowledged, index), e.g. {"acknowledged": true, "shards_acknowledged": true,
    "index": "my-index-000001"} in the create index API reference.
    """
    index = request.match_info["index"]
    invalid = invalid_name(index)
    if invalid is not None:
        return refusal_response(invalid)
    definition = parse_create(index, await request.read(), int(time.time() * 1000))
    if not await st.db(st.store.create_index, definition, not st.faults.index_missing):
        return refusal_response(already_exists(index))
    return json_response({"acknowledged": True, "shards_acknowledged": True, "index": index})


async def index_exists(request: web.Request, st: ReceiverState) -> web.Response:
    """``HEAD /{index}``: 200 or 404, no body (what ``indices.exists`` reads)."""
    return web.Response(status=200 if await _exists(st, request.match_info["index"]) else 404)


async def get_index(request: web.Request, st: ReceiverState) -> web.Response:
    index = request.match_info["index"]
    if not await _exists(st, index):
        return refusal_response(no_such_index(index))
    definition = st.store.defined.get(index) or IndexDefinition(index)
    return json_response({index: index_body(definition)})


async def get_mapping(request: web.Request, st: ReceiverState) -> web.Response:
    """``GET /{index}/_mapping``: {"<index>": {"mappings": {...}}} (IndicesGetMappingResponse)."""
    index = request.match_info["index"]
    if not await _exists(st, index):
        return refusal_response(no_such_index(index))
    definition = st.store.defined.get(index) or IndexDefinition(index)
    return json_response({index: {"mappings": definition.mappings}})


async def put_mapping(request: web.Request, st: ReceiverState) -> web.Response:
    """``PUT /{index}/_mapping``: new fields and parameters merge in; a type never changes."""
    index = request.match_info["index"]
    update = parse_mapping_update(await request.read())
    if not await _exists(st, index):
        return refusal_response(no_such_index(index))
    change = functools.partial(with_mapping, update=update)
    await st.db(st.store.update_definition, index, change)
    return json_response(_ACKNOWLEDGED)


async def delete_index(request: web.Request, st: ReceiverState) -> web.Response:
    """``DELETE /{index}``: the index and its documents go together."""
    index = request.match_info["index"]
    if not await _exists(st, index):
        return refusal_response(no_such_index(index))
    await st.db(st.store.drop_index, index)
    return json_response(_ACKNOWLEDGED)


async def refresh(request: web.Request, st: ReceiverState) -> web.Response:
    """Writes are visible at once here; answer as Elasticsearch does after a refresh, a
    named index that does not exist with 404 (OpenSearch 2.19 and Elasticsearch 8.19 do)."""
    index = request.match_info.get("index")
    if index and not _is_expression(index) and not await _exists(st, index):
        return refusal_response(no_such_index(index))
    return json_response({"_shards": {"total": 1, "successful": 1, "failed": 0}})


def add_routes(router: web.UrlDispatcher, wrap: Callable[..., Route]) -> None:
    """Register the index APIs; ``wrap`` is the app's data-route wrapper (stats, faults)."""

    def route(handler: Handler, *, read: bool = False) -> Route:
        return wrap(_answers_refusals(handler), read=read)

    for path in ("/_refresh", "/{index}/_refresh"):
        router.add_get(path, route(refresh, read=True))
        router.add_post(path, route(refresh, read=True))
    for path in ("/{index}/_mapping", "/{index}/_mappings"):
        router.add_get(path, route(get_mapping, read=True))
        router.add_put(path, route(put_mapping))
        router.add_post(path, route(put_mapping))
    router.add_put("/{index}", route(create_index))
    router.add_head(_NAMED, route(index_exists, read=True))
    router.add_get(_NAMED, route(get_index, read=True), allow_head=False)
    router.add_delete(_NAMED, route(delete_index))
