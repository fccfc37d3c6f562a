"""The receiver's index APIs over real loopback sockets: exact statuses and bodies.

The official clients' view of the same APIs is in ``test_official_clients.py``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest

from db2api.receiver import ReceiverProcess
from db2api.receiver.refusals import index_uuid

pytestmark = pytest.mark.timeout(60)
STRICT = {"dynamic": "strict", "properties": {"n": {"type": "long"}, "ts": {"type": "date"}}}


async def call(
    method: str, url: str, body: Any = None, **headers: str
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    """One request: (status, JSON body or None, headers)."""
    data = body if isinstance(body, bytes) else None if body is None else orjson.dumps(body)
    headers.setdefault("Content-Type", "application/json")
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data, headers=headers) as resp,
    ):
        raw = await resp.read()
        return resp.status, orjson.loads(raw) if raw else None, resp.headers


def envelope(status: int, error: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"root_cause": [error], **error}, "status": status}


def not_found(index: str) -> dict[str, Any]:
    return envelope(
        404,
        {
            "type": "index_not_found_exception",
            "reason": f"no such index [{index}]",
            "resource.type": "index_or_alias",
            "resource.id": index,
            "index_uuid": "_na_",
            "index": index,
        },
    )


async def test_create_then_create_again(target: ReceiverProcess) -> None:
    body = {"settings": {"number_of_shards": 1}, "mappings": STRICT, "aliases": {"now": {}}}
    status, resp, headers = await call("PUT", f"{target.url}/logs", body)
    assert (status, resp) == (
        200,
        {"acknowledged": True, "shards_acknowledged": True, "index": "logs"},
    )
    assert headers["X-Elastic-Product"] == "Elasticsearch"
    status, resp, _ = await call("PUT", f"{target.url}/logs")
    uuid = index_uuid("logs")
    assert (status, resp) == (
        400,
        envelope(
            400,
            {
                "type": "resource_already_exists_exception",
                "reason": f"index [logs/{uuid}] already exists",
                "index_uuid": uuid,
                "index": "logs",
            },
        ),
    )
    status, resp, _ = await call("GET", f"{target.url}/logs")
    assert status == 200 and list(resp) == ["logs"]
    assert resp["logs"]["aliases"] == {"now": {}} and resp["logs"]["mappings"] == STRICT
    settings = resp["logs"]["settings"]["index"]
    assert (settings["number_of_shards"], settings["provided_name"]) == ("1", "logs")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Logs", "must be lowercase"),
        ("_logs", "must not start with '_', '-', or '+'"),
        ("a%20b", 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'),
        ("a%23b", "must not contain '#'"),
    ],
)
async def test_create_refuses_an_invalid_name(
    target: ReceiverProcess, name: str, problem: str
) -> None:
    status, resp, _ = await call("PUT", f"{target.url}/{name}")
    index = resp["error"]["index"]
    assert (status, resp) == (
        400,
        envelope(
            400,
            {
                "type": "invalid_index_name_exception",
                "reason": f"Invalid index name [{index}], {problem}",
                "index_uuid": "_na_",
                "index": index,
            },
        ),
    )
    assert index.replace(" ", "%20").replace("#", "%23") == name
    status, _, _ = await call("HEAD", f"{target.url}/{name}")
    assert status in (400, 404)


async def test_head_answers_without_a_body(target: ReceiverProcess) -> None:
    assert (await call("HEAD", f"{target.url}/logs"))[:2] == (404, None)
    await call("PUT", f"{target.url}/logs")
    assert (await call("HEAD", f"{target.url}/logs"))[:2] == (200, None)
    # Documents auto-create an index, as Elasticsearch does with auto-create on.
    await call("PUT", f"{target.url}/auto/_doc/1", {"n": 1})
    assert (await call("HEAD", f"{target.url}/auto"))[0] == 200


async def test_missing_index_answers_of_every_index_api(target: ReceiverProcess) -> None:
    for method, path in [
        ("GET", "/gone"),
        ("DELETE", "/gone"),
        ("GET", "/gone/_mapping"),
        ("PUT", "/gone/_mapping"),
    ]:
        body = {"properties": {}} if method == "PUT" else None
        status, resp, _ = await call(method, target.url + path, body)
        assert (status, resp) == (404, not_found("gone")), (method, path)


async def test_mapping_update_and_conflict(target: ReceiverProcess) -> None:
    await call("PUT", f"{target.url}/logs", {"mappings": STRICT})
    url = f"{target.url}/logs/_mapping"
    status, resp, _ = await call("PUT", url, {"properties": {"name": {"type": "keyword"}}})
    assert (status, resp) == (200, {"acknowledged": True})
    status, resp, _ = await call("PUT", url, {"properties": {"n": {"type": "keyword"}}})
    reason = "mapper [n] cannot be changed from type [long] to [keyword]"
    assert (status, resp) == (
        400,
        envelope(400, {"type": "illegal_argument_exception", "reason": reason}),
    )
    status, resp, _ = await call("PUT", url, b"")
    assert (status, resp["error"]["reason"]) == (400, "request body is required")
    status, resp, _ = await call("GET", url)
    wanted = {**STRICT, "properties": {**STRICT["properties"], "name": {"type": "keyword"}}}
    assert (status, resp) == (200, {"logs": {"mappings": wanted}})
    # The merged mapping is what documents are checked against.
    status, _, _ = await call("PUT", f"{target.url}/logs/_doc/1", {"name": "x", "n": 1})
    assert status == 201


async def test_delete_takes_the_documents_with_it(target: ReceiverProcess) -> None:
    await call("PUT", f"{target.url}/logs")
    await call("PUT", f"{target.url}/logs/_doc/1", {"n": 1})
    await call("PUT", f"{target.url}/auto/_doc/1", {"n": 1})
    for index in ("logs", "auto"):
        status, resp, _ = await call("DELETE", f"{target.url}/{index}")
        assert (status, resp) == (200, {"acknowledged": True})
        assert target.ids(index) == {}
        assert (await call("HEAD", f"{target.url}/{index}"))[0] == 404
    status, resp, _ = await call("GET", f"{target.url}/logs/_count")
    assert status == 404


async def test_a_created_empty_index_counts_and_searches_as_empty(target: ReceiverProcess) -> None:
    await call("PUT", f"{target.url}/empty")
    status, resp, _ = await call("GET", f"{target.url}/empty/_count")
    assert (status, resp["count"]) == (200, 0)
    status, resp, _ = await call("POST", f"{target.url}/empty/_search", {"size": 10})
    assert (status, resp["hits"]["hits"]) == (200, [])


async def test_a_strict_mapping_refuses_documents_single_and_in_bulk(
    target: ReceiverProcess,
) -> None:
    await call("PUT", f"{target.url}/logs", {"mappings": STRICT})
    status, resp, _ = await call("PUT", f"{target.url}/logs/_doc/1", {"n": 1, "extra": True})
    reason = "mapping set to strict, dynamic introduction of [extra] within [_doc] is not allowed"
    assert (status, resp) == (
        400,
        envelope(400, {"type": "strict_dynamic_mapping_exception", "reason": reason}),
    )
    status, resp, _ = await call(
        "POST", f"{target.url}/logs/_update/2", {"doc": {"n": "x"}, "doc_as_upsert": True}
    )
    assert (status, resp["error"]["type"]) == (400, "mapper_parsing_exception")
    bulk = (
        b'{"index":{"_id":"a"}}\n{"n":1,"ts":"2024-05-01"}\n'
        b'{"create":{"_id":"b"}}\n{"n":"seven"}\n'
        b'{"index":{"_id":"c"}}\n{"ts":"2024-02-30"}\n'
    )
    status, resp, _ = await call(
        "POST", f"{target.url}/logs/_bulk", bulk, **{"Content-Type": "application/x-ndjson"}
    )
    assert status == 200 and resp["errors"] is True
    items = [next(iter(item.values())) for item in resp["items"]]
    assert [item["status"] for item in items] == [201, 400, 400]
    assert items[1]["error"] == {
        "type": "mapper_parsing_exception",
        "reason": "failed to parse field [n] of type [long] in document with id 'b'. "
        "Preview of field's value: 'seven'",
        "caused_by": {"type": "illegal_argument_exception", "reason": 'For input string: "seven"'},
    }
    assert items[2]["error"]["reason"].endswith(
        "of type [date] in document with id 'c'. Preview of field's value: '2024-02-30'"
    )
    assert target.ids("logs") == {"a": 1}


async def test_index_missing_refuses_all_but_created_indices(target: ReceiverProcess) -> None:
    await call("PUT", f"{target.url}/auto/_doc/1", {"n": 1})
    target.set_faults(index_missing=True)
    assert (await call("HEAD", f"{target.url}/auto"))[0] == 404
    status, resp, _ = await call("PUT", f"{target.url}/fresh/_doc/1", {"n": 1})
    assert (status, resp["error"]["type"]) == (404, "index_not_found_exception")
    await call("PUT", f"{target.url}/fresh")
    status, _, _ = await call("PUT", f"{target.url}/fresh/_doc/1", {"n": 1})
    assert status == 201
    bulk = (
        b'{"index":{"_index":"fresh","_id":"2"}}\n{}\n{"index":{"_index":"other","_id":"3"}}\n{}\n'
    )
    _, resp, _ = await call("POST", f"{target.url}/_bulk", bulk)
    assert [next(iter(i.values()))["status"] for i in resp["items"]] == [201, 404]
    assert (await call("GET", f"{target.url}/fresh/_doc/1"))[0] == 200
    _, resp, _ = await call("POST", f"{target.url}/fresh/_mget", {"ids": ["1", "2"]})
    assert [doc["found"] for doc in resp["docs"]] == [True, True]
    assert (await call("GET", f"{target.url}/fresh/_count"))[1]["count"] == 2
    # Creating an index the fault hides adopts its documents.
    status, _, _ = await call("PUT", f"{target.url}/auto")
    assert status == 200 and target.ids("auto") == {"1": 1}


async def test_index_routes_keep_the_no_handler_answer_for_apis(target: ReceiverProcess) -> None:
    status, resp, _ = await call("GET", f"{target.url}/_cluster")
    assert (status, resp) == (
        400,
        {"error": "no handler found for uri [/_cluster] and method [GET]"},
    )


async def test_request_faults_apply_to_index_apis(target: ReceiverProcess) -> None:
    target.set_faults(status_override=503)
    status, _, _ = await call("PUT", f"{target.url}/logs")
    assert status == 503
    target.set_faults()
    assert (await call("HEAD", f"{target.url}/logs"))[0] == 404


async def test_an_invalid_name_carries_the_index_in_documents_answers_too(
    target: ReceiverProcess,
) -> None:
    """As fluent-bit users quote a bulk item: {"type":"invalid_index_name_exception", "reason":
    "Invalid index name [-application-logs-2024.16], must not start with '_', '-', or '+'",
    "index_uuid":"_na_","index":"-application-logs-2024.16"}."""
    error = {
        "type": "invalid_index_name_exception",
        "reason": "Invalid index name [-logs], must not start with '_', '-', or '+'",
        "index_uuid": "_na_",
        "index": "-logs",
    }
    bulk = b'{"create":{"_index":"-logs","_id":"1"}}\n{"n":1}\n'
    _, resp, _ = await call("POST", f"{target.url}/_bulk", bulk)
    assert resp["items"] == [
        {"create": {"_index": "-logs", "_id": "1", "status": 400, "error": error}}
    ]
    status, resp, _ = await call("PUT", f"{target.url}/-logs/_doc/1", {"n": 1})
    assert (status, resp) == (400, envelope(400, error))
