"""``filter_path``: the same requests to the receiver and to each real node, compared filtered.

db2api reads ``_bulk`` and ``_mget`` answers cut to its own fields (es_bulk.ANSWER_FIELDS,
es_proof.PROOF_FIELDS); the receiver must cut them as the engines do, or a parser could pass
here while reading a field the engines never send it. Each step sends one request with one
``filter_path`` to both sides and compares the answers' shapes: the same keys at every level,
the same array lengths, the same kind of value everywhere, and the same value for what db2api
decides by (statuses, ``errors``, ids, ``found``, error types, ``result``, ``count``).

Values that legitimately differ, compared by kind only: ``took``, ``_version``, ``_seq_no``,
``_primary_term``, ``_shards`` counts, ``_score``, ``index_uuid`` and every error ``reason``
text (Elasticsearch 8 prefixes ``[line:column]``). Whole-request errors are not filtered by
either engine (their error envelope is built with filtering off): the receiver must not either.
The one intended difference: Elasticsearch 8.8+ names a document its mapping refuses
``document_parsing_exception`` where OpenSearch and the receiver say ``mapper_parsing_exception``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from db2api.receiver import ReceiverProcess
from db2api.targets.es_bulk import ANSWER_FIELDS
from db2api.targets.es_proof import PROOF_FIELDS
from tests.support.node_reads import delete_index
from tests.support.search_nodes import SearchNode

NDJSON = {"Content-Type": "application/x-ndjson"}
MAPPING = {
    "settings": {"number_of_replicas": 0},
    "mappings": {"dynamic": "strict", "properties": {"v": {"type": "long"}}},
}
EXACT = {"status", "errors", "_id", "_index", "found", "type", "result", "count", "timed_out"}
RENAMED_PARSING = ('"document_parsing_exception"', '"mapper_parsing_exception"')
BULK_FIELDS = ANSWER_FIELDS.removeprefix("filter_path=")
MGET_FIELDS = PROOF_FIELDS.removeprefix("filter_path=")


def bulk_body(index: str, *actions: tuple[str, str | None, dict[str, Any] | None]) -> bytes:
    lines = []
    for op, doc_id, source in actions:
        meta: dict[str, Any] = {"_index": index} | ({} if doc_id is None else {"_id": doc_id})
        lines.append(json.dumps({op: meta}))
        if source is not None:
            lines.append(json.dumps(source))
    return ("\n".join(lines) + "\n").encode()


def run_steps(url: str, index: str, missing: str) -> list[tuple[str, int, Any]]:
    """(step, HTTP status, filtered answer) for every request, in order."""
    seen: list[tuple[str, int, Any]] = []

    def send(step: str, method: str, path: str, fields: str, **kwargs: Any) -> None:
        params = {"filter_path": fields, **kwargs.pop("params", {})}
        answer = requests.request(method, f"{url}{path}", params=params, timeout=30, **kwargs)
        seen.append((f"{step} ?filter_path={fields}", answer.status_code, answer.json()))

    assert requests.put(f"{url}/{index}", json=MAPPING, timeout=30).status_code == 200
    good = bulk_body(index, ("index", "1", {"v": 1}), ("index", "2", {"v": 2}))
    for fields in (BULK_FIELDS, "errors", "items.*.error", "-took,-items.*._shards", "**.status"):
        send("bulk, all stored", "POST", "/_bulk", fields, data=good, headers=NDJSON)
    # A field the strict mapping refuses, a mistyped value and a create of an existing id.
    refused = bulk_body(
        index,
        ("index", "3", {"v": 3}),
        ("index", "4", {"w": 1}),
        ("index", "6", {"v": "abc"}),
        ("create", "1", {"v": 1}),
    )
    for fields in (BULK_FIELDS, "items.*.error", "errors,items.*.status", "-items.*.error.reason"):
        send("bulk, item errors", "POST", "/_bulk", fields, data=refused, headers=NDJSON)
    # A delete without _id: the whole request is refused, its error is not filtered.
    no_id = bulk_body(index, ("index", "5", {"v": 5}), ("delete", None, None))
    send("bulk, delete without id", "POST", "/_bulk", BULK_FIELDS, data=no_id, headers=NDJSON)
    assert requests.post(f"{url}/{index}/_refresh", timeout=30).status_code == 200
    ids = {"ids": ["1", "3", "9"]}
    for fields, source in ((MGET_FIELDS, "false"), (MGET_FIELDS, "true"), ("docs.error", "true")):
        send("mget", "POST", f"/{index}/_mget", fields, json=ids, params={"_source": source})
    for fields in ("-docs._source", "docs._s*", "docs.*"):
        send("mget", "POST", f"/{index}/_mget", fields, json=ids)
    send("mget", "POST", f"/{index}/_mget", "docs._source.v,docs._id", json=ids)
    send("mget, missing index", "POST", f"/{missing}/_mget", MGET_FIELDS, json={"ids": ["1"]})
    send("mget, no ids", "POST", f"/{index}/_mget", MGET_FIELDS, json={"ids": []})
    send("count", "GET", f"/{index}/_count", "-_shards")
    send("count, missing index", "GET", f"/{missing}/_count", "count")
    query = {"query": {"match_all": {}}, "sort": ["v"]}
    send("search", "POST", f"/{index}/_search", "took,hits.hits._id,hits.hits._score", json=query)
    send("get", "GET", f"/{index}/_doc/1", "_id,found,_source.v")
    send("get, absent", "GET", f"/{index}/_doc/9", "_id,found")
    send("refresh", "POST", f"/{index}/_refresh", "_shards.failed")
    return seen


def shape(value: Any, key: str = "") -> Any:
    """Keys, lengths and kinds of ``value``; the values themselves only where db2api decides."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(item, key) for item in value]
    return value if key in EXACT else type(value).__name__


@pytest.fixture
def receiver_steps(target: ReceiverProcess) -> list[tuple[str, int, Any]]:
    return run_steps(target.url, "filter-path", "filter-path-missing")


def test_filtered_answers_have_the_real_engines_shape(
    search_node: SearchNode, receiver_steps: list[tuple[str, int, Any]]
) -> None:
    index, missing = (
        f"filter-path-{search_node.engine}",
        f"filter-path-missing-{search_node.engine}",
    )
    delete_index(search_node.url, index)
    delete_index(search_node.url, missing)
    try:
        node_steps = run_steps(search_node.url, index, missing)
    finally:
        delete_index(search_node.url, index)
    for (step, status, answer), (_, rx_status, rx_answer) in zip(
        node_steps, receiver_steps, strict=True
    ):
        node_shape = shape(_renamed(answer, index, missing))
        node_shape = json.loads(json.dumps(node_shape).replace(*RENAMED_PARSING))
        rx_shape = shape(_renamed(rx_answer, "filter-path", "filter-path-missing"))
        assert (step, rx_status, rx_shape) == (step, status, node_shape)


def test_db2api_fields_cut_the_answers_to_what_it_parses(
    receiver_steps: list[tuple[str, int, Any]],
) -> None:
    """The receiver's own answers, spelled out: what db2api's parsers are given."""
    answers = {step: answer for step, _, answer in receiver_steps}
    assert answers[f"bulk, all stored ?filter_path={BULK_FIELDS}"] == {
        "items": [{"index": {"_id": "1", "status": 201}}, {"index": {"_id": "2", "status": 201}}]
    }
    assert answers["bulk, all stored ?filter_path=items.*.error"] == {}
    assert answers[f"mget ?filter_path={MGET_FIELDS}"] == {
        "docs": [
            {"_id": "1", "found": True},
            {"_id": "3", "found": True},
            {"_id": "9", "found": False},
        ]
    }
    error = answers[f"bulk, delete without id ?filter_path={BULK_FIELDS}"]
    assert error["error"]["type"] == "action_request_validation_exception"
    assert error["error"]["root_cause"] and error["status"] == 400  # whole, not filtered


def _renamed(answer: Any, index: str, missing: str) -> Any:
    """The answer with the side's index names made alike (the nodes' are per engine)."""
    text = json.dumps(answer).replace(missing, "MISSING").replace(index, "INDEX")
    return json.loads(text)
