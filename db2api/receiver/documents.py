"""The document APIs' handlers: ``_doc``, ``_create``, ``_update``, ``_bulk``, ``_mget``,
``_count`` and ``_search``.

Each reads its request, asks the wire-format modules (:mod:`protocol`, :mod:`bulk`,
:mod:`mget`, :mod:`search`) what to do and the store to do it, and counts what it
wrote; faults, counters and error shapes are :mod:`data_routes`'s.
"""

from __future__ import annotations

import functools
import time

import orjson
from aiohttp import web

from db2api.receiver import protocol as es
from db2api.receiver.bulk import bulk_response, parse_bulk, plan_bulk, update_parts
from db2api.receiver.data_routes import BYPASSED, refused_by_index
from db2api.receiver.faults import matches_reject_rule as _rejects
from db2api.receiver.mapped_documents import document_refusal
from db2api.receiver.mget import MgetDoc, doc_body, parse_mget, parse_source_param
from db2api.receiver.refusals import decide_refusal, no_such_index
from db2api.receiver.responses import error_response, json_response, refusal_response
from db2api.receiver.search import parse_search, run_search
from db2api.receiver.state import ReceiverState
from db2api.receiver.store import StoredDoc
from db2api.receiver.writes import WriteOp


async def put_doc(request: web.Request, st: ReceiverState) -> web.Response:
    index = request.match_info["index"]
    given_id = request.match_info.get("id")
    doc_id = given_id or es.new_id()
    create = request.match_info.get("op") == "_create" or request.query.get("op_type") == "create"
    problem = es.check_target(index, doc_id)
    if problem:
        return refusal_response(problem)
    # A document without an id can only be new: Elasticsearch makes it a create.
    asked = "create" if create or not given_id else "index"
    if refused := refused_by_index(request, st, asked, index):
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
        return refusal_response(es.write_error(index, doc_id, result))
    st.stats.docs_written += 1
    return json_response(es.write_body(index, doc_id, result), result.status)


async def update_doc(request: web.Request, st: ReceiverState) -> web.Response:
    """``POST /{index}/_update/{id}`` with ``doc`` (and ``doc_as_upsert`` or ``upsert``)."""
    index, doc_id = request.match_info["index"], request.match_info["id"]
    problem = es.check_target(index, doc_id)
    if problem:
        return refusal_response(problem)
    if refused := refused_by_index(request, st, "update", index):
        return refused
    doc, upsert = update_parts(await request.read(), 0)
    unmapped = document_refusal(st.store.defined.get(index), orjson.loads(doc), doc_id, upsert)
    if unmapped:
        return refusal_response(unmapped)
    op = WriteOp("update", index, doc_id, doc.decode(), upsert and upsert.decode())
    result = await st.write_one(op)
    if result.result == "document_missing":
        return refusal_response(es.write_error(index, doc_id, result))
    if result.result != "noop":
        st.stats.docs_written += 1
    return json_response(es.write_body(index, doc_id, result), result.status)


async def delete_doc(request: web.Request, st: ReceiverState) -> web.Response:
    """``DELETE /{index}/_doc/{id}``: 200 ``deleted``, or 404 ``not_found`` as ES answers."""
    index, doc_id = request.match_info["index"], request.match_info["id"]
    if refused := refused_by_index(request, st, "delete", index):
        return refused
    result = await st.write_one(WriteOp("delete", index, doc_id, None))
    return json_response(es.write_body(index, doc_id, result), result.status)


async def get_doc(request: web.Request, st: ReceiverState) -> web.Response:
    index, doc_id = request.match_info["index"], request.match_info["id"]
    if refused := refused_by_index(request, st, "get_by_id", index):
        return refused
    source = parse_source_param(request.query.get("_source", True))
    found = await st.db(st.store.get, index, doc_id)
    return json_response(doc_body(index, doc_id, found, source), 200 if found else 404)


async def bulk(request: web.Request, st: ReceiverState) -> web.Response:
    started = time.perf_counter()
    actions = parse_bulk(await request.read(), request.match_info.get("index"))
    st.stats.bulk_items += len(actions)
    auth = request.headers.get("Authorization")
    ops, positions, counts = plan_bulk(actions, st.faults, st.rng, auth, st.store.defined)
    for name, n in counts.items():
        st.stats.faults[name] += n
    results = await st.db(st.store.write, ops) if ops else []
    st.stats.docs_written += sum(1 for r in results if r.result in ("created", "updated"))
    took = int((time.perf_counter() - started) * 1000)
    return json_response(bulk_response(actions, positions, results, took))


async def count(request: web.Request, st: ReceiverState) -> web.Response:
    index = request.match_info["index"]
    field, bounds = es.parse_count_query(await request.read())
    if refused := refused_by_index(request, st, "get", index):
        return refused
    try:
        n = await st.db(st.store.count, index, field, bounds)
    except ValueError as exc:
        return error_response(400, "parsing_exception", str(exc))
    if n is None:
        return refusal_response(no_such_index(index))
    return json_response({"count": n, "_shards": es.READ_SHARDS})


async def mget(request: web.Request, st: ReceiverState) -> web.Response:
    """``_mget`` by ``ids`` or ``docs``, with ``_source`` unless asked to leave it out."""
    wanted = parse_mget(
        await request.read(), request.match_info.get("index"), request.query.get("_source")
    )
    by_index: dict[str, list[MgetDoc]] = {}
    for doc in wanted:
        by_index.setdefault(doc.index, []).append(doc)
    found: dict[tuple[str, str], StoredDoc] = {}
    refusals = {}
    for index, docs in by_index.items():
        defined = st.store.defined
        refusal = (
            None
            if request.get(BYPASSED)
            else decide_refusal(st.faults, "get_by_id", index, defined=defined)
        )
        if refusal is None and not await st.db(st.store.index_exists, index):
            refusal = no_such_index(index)  # each entry fails, as on both engines
        if refusal is not None:
            refusals[index] = refusal
            continue
        ids = [doc.id for doc in docs]
        bodies = any(doc.source is not False for doc in docs)  # else no bodies to read
        stored = await st.db(functools.partial(st.store.documents, bodies=bodies), index, ids)
        found.update(((index, doc_id), hit) for doc_id, hit in stored.items())
    answers = [
        {"_index": doc.index, "_id": doc.id, "error": refusals[doc.index].body()["error"]}
        if doc.index in refusals
        else doc_body(doc.index, doc.id, found.get((doc.index, doc.id)), doc.source)
        for doc in wanted
    ]
    return json_response({"docs": answers})


async def search(request: web.Request, st: ReceiverState) -> web.Response:
    """``_search`` by ``range`` and ``term`` filters, sorted, paged with ``search_after``."""
    started = time.perf_counter()
    index = request.match_info.get("index")
    query = parse_search(await request.read(), dict(request.query))
    if index and (refused := refused_by_index(request, st, "get", index)):
        return refused
    took = int((time.perf_counter() - started) * 1000)
    return json_response(await st.db(run_search, st.store, index, query, took))
