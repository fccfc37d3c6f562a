"""The receiver against the real engines: the same requests, compared as db2api reads them.

One sequence (create a strict index, a ``_bulk`` with a good document, a mistyped one, an
unmapped field and a ``create`` of an existing id, ``_refresh``, ``_mget`` of present and
absent ids, ``_count``, a ``_create`` of an existing id, then a write block, a missing
index with auto-create off, a data stream, and requests db2api makes only when something is
wrong) goes to the receiver and to each node. What is compared is
what db2api reads: HTTP statuses, the ``_bulk`` ``errors`` flag, each item's status and
error type through db2api's own parser, whether db2api would stop the run for it
(``index_problem``), ``found`` flags and the count.

Where the receiver has no API for a refusal it has a fault knob instead: the write block
is ``read_only="write_block"`` (a node: ``index.blocks.write`` in ``_settings``), auto-create
off is ``index_missing`` (a node: the ``action.auto_create_index`` cluster setting), a data
stream is ``data_stream`` (a node: an index template with ``data_stream: {}``).

Intended differences, asserted below: Elasticsearch 8 names a document that does not fit
its mapping ``document_parsing_exception`` where OpenSearch 2.19 and the receiver say
``mapper_parsing_exception`` (both end in a dead letter); the Maven-built Elasticsearch
answers ``GET /`` 405 (no rest-root module), the distribution, OpenSearch and the receiver
200.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
import requests

from db2api.receiver import ReceiverProcess
from db2api.targets import es_bulk
from db2api.targets.elasticsearch import index_problem
from tests.support.node_reads import cluster_setting, delete_index
from tests.support.search_nodes import SearchNode

NDJSON = {"Content-Type": "application/x-ndjson"}
MAPPING = {"mappings": {"dynamic": "strict", "properties": {"v": {"type": "long"}}}}
# Elasticsearch 8.8+ renamed the item error of a document its mapping refuses.
PARSING = {"elasticsearch": "document_parsing_exception"}
# The Maven-built Elasticsearch lacks the rest-root module (the distribution answers 200).
ROOT = {"elasticsearch": 405}


class Side(Protocol):
    url: str

    def write_block(self, index: str) -> Any: ...

    def auto_create_off(self) -> Any: ...

    def data_stream(self, name: str) -> Any: ...


@dataclass
class NodeSide:
    url: str

    @contextmanager
    def write_block(self, index: str) -> Iterator[None]:
        answer = requests.put(
            f"{self.url}/{index}/_settings", json={"index.blocks.write": True}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        yield
        requests.put(f"{self.url}/{index}/_settings", json={"index.blocks.write": None}, timeout=30)

    @contextmanager
    def auto_create_off(self) -> Iterator[None]:
        with cluster_setting(self.url, "action.auto_create_index", False):
            yield

    @contextmanager
    def data_stream(self, name: str) -> Iterator[None]:
        template = {
            "index_patterns": [name],
            "data_stream": {},
            "template": {
                "settings": {"number_of_replicas": 0},  # else yellow on one node
                "mappings": {"properties": {"@timestamp": {"type": "date"}}},
            },
        }
        answer = requests.put(f"{self.url}/_index_template/{name}", json=template, timeout=30)
        assert answer.status_code == 200, answer.text
        yield
        requests.delete(f"{self.url}/_data_stream/{name}", timeout=30)  # 405 on Maven ES
        requests.delete(f"{self.url}/_index_template/{name}", timeout=30)


@dataclass
class ReceiverSide:
    receiver: ReceiverProcess

    @property
    def url(self) -> str:
        return self.receiver.url

    @contextmanager
    def write_block(self, index: str) -> Iterator[None]:
        self.receiver.set_faults(read_only="write_block")
        yield
        self.receiver.set_faults()

    @contextmanager
    def auto_create_off(self) -> Iterator[None]:
        self.receiver.set_faults(index_missing=True)
        yield
        self.receiver.set_faults()

    @contextmanager
    def data_stream(self, name: str) -> Iterator[None]:
        self.receiver.set_faults(data_stream=True)
        yield
        self.receiver.set_faults()


def bulk_lines(*actions: tuple[str, str, str, dict[str, Any]]) -> bytes:
    lines = []
    for op, index, doc_id, source in actions:
        lines += [json.dumps({op: {"_index": index, "_id": doc_id}}), json.dumps(source)]
    return ("\n".join(lines) + "\n").encode()


def read_bulk(answer: requests.Response, index: str, sent: list[tuple[str, str]]) -> dict[str, Any]:
    """A ``_bulk`` answer as db2api reads it: items matched to the (action, id) pairs sent.

    db2api sends one action per request; this sequence mixes two, so each action's items
    are read apart, as db2api would read a request of that action alone.
    """
    payload = answer.json()
    results: dict[tuple[str, str], es_bulk.ItemResult] = {}
    for action in dict.fromkeys(action for action, _ in sent):
        ids = [doc_id for kind, doc_id in sent if kind == action]
        part = json.dumps({**payload, "items": [i for i in payload["items"] if action in i]})
        parsed = es_bulk.parse_response(part.encode(), ids, "url", index, action)
        for doc_id, result in zip(
            ids, parsed or [es_bulk.ItemResult(201, "", "")] * len(ids), strict=True
        ):
            results[(action, doc_id)] = result
    items = [
        (r.status, r.error, index_problem(r, index) is not None)
        for r in (results[pair] for pair in sent)
    ]
    return {"status": answer.status_code, "errors": payload["errors"], "items": items}


def run_sequence(side: Side, index: str, missing: str) -> dict[str, Any]:
    """Every step's answer, reduced to what db2api reads."""
    url, seen = side.url, {}
    seen["put index"] = requests.put(f"{url}/{index}", json=MAPPING, timeout=30).status_code
    body = bulk_lines(
        ("index", index, "1", {"v": 1}),
        ("index", index, "2", {"v": "abc"}),
        ("index", index, "3", {"w": 1}),
        ("create", index, "1", {"v": 1}),
    )
    answer = requests.post(f"{url}/_bulk", data=body, headers=NDJSON, timeout=30)
    seen["bulk"] = read_bulk(
        answer, index, [("index", "1"), ("index", "2"), ("index", "3"), ("create", "1")]
    )
    seen["refresh"] = requests.post(f"{url}/{index}/_refresh", timeout=30).status_code
    answer = requests.post(
        f"{url}/{index}/_mget", params={"_source": "false"}, json={"ids": ["1", "2", "9"]}
    )
    seen["mget"] = (answer.status_code, [doc.get("found") for doc in answer.json()["docs"]])
    answer = requests.get(f"{url}/{index}/_count", timeout=30)
    seen["count"] = (answer.status_code, answer.json()["count"])
    answer = requests.put(f"{url}/{index}/_create/1", json={"v": 1}, timeout=30)
    seen["create existing"] = error_of(answer)
    with side.write_block(index):
        body = bulk_lines(("index", index, "5", {"v": 5}))
        answer = requests.post(f"{url}/_bulk", data=body, headers=NDJSON, timeout=30)
        seen["bulk blocked"] = read_bulk(answer, index, [("index", "5")])
    with side.auto_create_off():
        body = bulk_lines(("index", missing, "1", {"v": 1}))
        answer = requests.post(f"{url}/_bulk", data=body, headers=NDJSON, timeout=30)
        seen["bulk missing index"] = read_bulk(answer, missing, [("index", "1")])
    with side.data_stream(stream := f"{index}-stream"):
        seen |= stream_steps(url, stream)
    seen |= edges(url, index, missing)
    return seen


def stream_steps(url: str, stream: str) -> dict[str, Any]:
    """A data stream takes only create, and no GET by id (the proof searches instead)."""
    seen: dict[str, Any] = {}
    doc = {"@timestamp": "2024-01-01T00:00:00Z", "v": 1}
    for op in ("index", "create"):
        body = bulk_lines((op, stream, "1", doc))
        answer = requests.post(f"{url}/_bulk", data=body, headers=NDJSON, timeout=30)
        seen[f"stream {op}"] = read_bulk(answer, stream, [(op, "1")])
    answer = requests.post(
        f"{url}/{stream}/_mget", params={"_source": "false"}, json={"ids": ["1"]}
    )
    seen["stream mget"] = [
        (doc.get("found"), doc["error"]["type"], doc["error"].get("excluded_ds"))
        for doc in answer.json()["docs"]
    ]
    requests.post(f"{url}/{stream}/_refresh", timeout=30)
    query = {"query": {"ids": {"values": ["1", "2"]}}, "_source": False}
    answer = requests.post(f"{url}/{stream}/_search", json=query, timeout=30)
    seen["stream search"] = [hit["_id"] for hit in answer.json()["hits"]["hits"]]
    return seen


def error_of(answer: requests.Response) -> tuple[int, str | None]:
    error = answer.json().get("error")
    return answer.status_code, error.get("type") if isinstance(error, dict) else None


def edges(url: str, index: str, missing: str) -> dict[str, Any]:
    """Requests db2api makes rarely or only when something is wrong."""
    seen: dict[str, Any] = {}
    answer = requests.post(
        f"{url}/{missing}/_mget", params={"_source": "false"}, json={"ids": ["1"]}
    )
    seen["mget missing index"] = (
        answer.status_code,
        [(doc.get("found"), doc.get("error", {}).get("type")) for doc in answer.json()["docs"]],
    )
    seen["mget no ids"] = error_of(requests.post(f"{url}/{index}/_mget", json={"ids": []}))
    seen["count missing index"] = error_of(requests.get(f"{url}/{missing}/_count", timeout=30))
    seen["refresh missing index"] = error_of(requests.post(f"{url}/{missing}/_refresh"))
    seen["bulk empty"] = error_of(requests.post(f"{url}/_bulk", data=b"", headers=NDJSON))
    seen["bulk blank lines"] = error_of(requests.post(f"{url}/_bulk", data=b"\n\n", headers=NDJSON))
    seen["root"] = requests.get(f"{url}/", timeout=30).status_code
    return seen


def expected(engine: str) -> dict[str, Any]:
    """What every side answers, with the engine's intended differences filled in."""
    return {
        "put index": 200,
        "bulk": {
            "status": 200,
            "errors": True,
            "items": [
                (201, "", False),
                (400, PARSING.get(engine, "mapper_parsing_exception"), False),
                (400, "strict_dynamic_mapping_exception", False),
                (409, "version_conflict_engine_exception", False),
            ],
        },
        "refresh": 200,
        "mget": (200, [True, False, False]),
        "count": (200, 1),
        "create existing": (409, "version_conflict_engine_exception"),
        "bulk blocked": {
            "status": 200,
            "errors": True,
            "items": [(403, "cluster_block_exception", True)],
        },
        "bulk missing index": {
            "status": 200,
            "errors": True,
            "items": [(404, "index_not_found_exception", True)],
        },
        "stream index": {
            "status": 200,
            "errors": True,
            "items": [(400, "illegal_argument_exception", True)],
        },
        "stream create": {"status": 200, "errors": False, "items": [(201, "", False)]},
        "stream mget": [(None, "index_not_found_exception", "true")],
        "stream search": ["1"],
        "mget missing index": (200, [(None, "index_not_found_exception")]),
        "mget no ids": (400, "action_request_validation_exception"),
        "count missing index": (404, "index_not_found_exception"),
        "refresh missing index": (404, "index_not_found_exception"),
        "bulk empty": (400, "parse_exception"),
        "bulk blank lines": (400, "action_request_validation_exception"),
        "root": ROOT.get(engine, 200),
    }


@pytest.fixture
def receiver_answers(target: ReceiverProcess) -> dict[str, Any]:
    return run_sequence(ReceiverSide(target), "same-requests", "same-requests-missing")


def test_the_receiver_answers_as_the_real_engine_does(
    search_node: SearchNode, receiver_answers: dict[str, Any]
) -> None:
    index, missing = f"same-requests-{search_node.engine}", f"same-missing-{search_node.engine}"
    delete_index(search_node.url, index)

    node = run_sequence(NodeSide(search_node.url), index, missing)

    assert node == expected(search_node.engine)
    assert receiver_answers == expected("receiver")
    delete_index(search_node.url, index)
