"""The receiver as the official clients see it: elasticsearch-py 8.x and opensearch-py.

Each test runs once per client against the session receiver, through the clients'
own helpers (``bulk``, ``streaming_bulk``) and APIs, so a shape the receiver gets
wrong shows up as the client's own error, not as a difference from a hand-written one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import elasticsearch
import opensearchpy
import pytest
from elasticsearch import helpers as es_helpers
from opensearchpy import helpers as os_helpers

from db2api.receiver import ReceiverProcess

pytestmark = pytest.mark.timeout(60)
DAYS = [f"2024-05-{d:02d}T10:00:00Z" for d in range(1, 31)]


class Flavour:
    """One client library: its client, helpers and exception classes."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        if name == "elasticsearch":
            self.client: Any = elasticsearch.Elasticsearch(url, request_timeout=10, max_retries=0)
            self.helpers: Any = es_helpers
            self.conflict: type[Exception] = elasticsearch.ConflictError
            self.not_found: type[Exception] = elasticsearch.NotFoundError
            self.api_error: type[Exception] = elasticsearch.ApiError
            self.bad_request: type[Exception] = elasticsearch.BadRequestError
        else:
            self.client = opensearchpy.OpenSearch(url, timeout=10, max_retries=0)
            self.helpers = os_helpers
            self.conflict = opensearchpy.ConflictError
            self.not_found = opensearchpy.NotFoundError
            self.api_error = opensearchpy.TransportError
            self.bad_request = opensearchpy.RequestError

    def create(self, index: str, doc_id: str, doc: dict[str, Any]) -> Any:
        if self.name == "elasticsearch":
            return self.client.create(index=index, id=doc_id, document=doc)
        return self.client.create(index=index, id=doc_id, body=doc)

    def count_range(self, index: str, field: str, gte: str, lt: str) -> int:
        query = {"range": {field: {"gte": gte, "lt": lt}}}
        if self.name == "elasticsearch":
            return self.client.count(index=index, query=query)["count"]
        return self.client.count(index=index, body={"query": query})["count"]

    def mget(self, index: str, ids: list[str], **params: Any) -> list[dict[str, Any]]:
        if self.name == "elasticsearch":
            return self.client.mget(index=index, ids=ids, **params)["docs"]
        return self.client.mget(index=index, body={"ids": ids}, params=params)["docs"]

    def create_index(self, index: str, body: dict[str, Any]) -> Any:
        if self.name == "elasticsearch":
            return self.client.indices.create(index=index, **body)
        return self.client.indices.create(index=index, body=body)

    def put_mapping(self, index: str, body: dict[str, Any]) -> Any:
        if self.name == "elasticsearch":
            return self.client.indices.put_mapping(index=index, **body)
        return self.client.indices.put_mapping(index=index, body=body)

    def status_of(self, error: Any) -> int:
        return error.meta.status if self.name == "elasticsearch" else error.status_code

    def close(self) -> None:
        self.client.close()


@pytest.fixture(params=["elasticsearch", "opensearch"])
def client(request: pytest.FixtureRequest, target: ReceiverProcess) -> Iterator[Flavour]:
    flavour = Flavour(request.param, target.url)
    yield flavour
    flavour.close()


def actions(index: str, n: int, op: str = "index") -> list[dict[str, Any]]:
    return [
        {"_op_type": op, "_index": index, "_id": str(i), "_source": {"n": i, "ts": DAYS[i % 30]}}
        for i in range(n)
    ]


def failures(client: Flavour, items: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(id, status, error type or result) of each item streaming_bulk reports as failed."""
    results = client.helpers.streaming_bulk(
        client.client, items, raise_on_error=False, raise_on_exception=False, chunk_size=50
    )
    failed = []
    for ok, result in results:
        ((_, item),) = result.items()
        if not ok:
            # A delete of a missing id is "not ok" to the helpers, with no error object.
            kind = item["error"]["type"] if "error" in item else item["result"]
            failed.append((item["_id"], item["status"], kind))
    return failed


def test_info(client: Flavour) -> None:
    info = client.client.info()
    assert info["tagline"] == "You Know, for Search"
    assert info["version"]["number"].startswith("8.")
    assert info["version"]["build_flavor"] == "default"
    assert "cluster_uuid" in info and "lucene_version" in info["version"]


def test_bulk_then_count_with_a_range(client: Flavour, target: ReceiverProcess) -> None:
    done, errors = client.helpers.bulk(client.client, actions("bulk", 120), chunk_size=50)
    assert (done, errors) == (120, [])
    client.client.indices.refresh(index="bulk")
    assert client.count_range("bulk", "ts", "2024-05-01", "2024-06-01") == 120
    assert client.count_range("bulk", "ts", "2024-05-03", "2024-05-05") == 8
    assert client.client.count(index="bulk")["count"] == 120
    assert target.count("bulk") == 120


def test_streaming_bulk_reports_exactly_the_rejected_document(
    client: Flavour, target: ReceiverProcess
) -> None:
    target.set_faults(reject_field="n", reject_value=7)
    assert failures(client, actions("stream", 20)) == [("7", 400, "mapper_parsing_exception")]
    assert len(target.ids("stream")) == 19 and "7" not in target.ids("stream")


def test_get_mget_and_refresh(client: Flavour) -> None:
    client.helpers.bulk(client.client, actions("reads", 3))
    refreshed = client.client.indices.refresh(index="reads")
    assert refreshed["_shards"]["failed"] == 0
    got = client.client.get(index="reads", id="1")
    assert (got["found"], got["_version"], got["_source"]) == (True, 1, {"n": 1, "ts": DAYS[1]})
    with pytest.raises(client.not_found):
        client.client.get(index="reads", id="nope")
    docs = client.mget("reads", ["0", "2", "nope"])
    assert [d["found"] for d in docs] == [True, True, False]
    assert docs[1]["_source"] == {"n": 2, "ts": DAYS[2]}
    bare = client.mget("reads", ["0"], _source="false")
    assert bare[0]["found"] is True and "_source" not in bare[0]
    both = client.client.mget(body={"docs": [{"_index": "reads", "_id": "0"}]})["docs"]
    assert both[0]["_source"] == {"n": 0, "ts": DAYS[0]}


def test_create_twice_is_a_conflict(client: Flavour) -> None:
    assert client.create("once", "a", {"v": 1})["result"] == "created"
    with pytest.raises(client.conflict) as info:
        client.create("once", "a", {"v": 2})
    assert info.value.status_code == 409
    failed = failures(client, [{"_op_type": "create", "_index": "once", "_id": "a", "v": 3}])
    assert failed == [("a", 409, "version_conflict_engine_exception")]


def test_update_and_delete_actions(client: Flavour, target: ReceiverProcess) -> None:
    client.helpers.bulk(client.client, actions("edit", 2))
    items = [
        {"_op_type": "update", "_index": "edit", "_id": "0", "doc": {"extra": True}},
        {
            "_op_type": "update",
            "_index": "edit",
            "_id": "new",
            "doc": {"n": 9},
            "doc_as_upsert": True,
        },
        {"_op_type": "update", "_index": "edit", "_id": "ghost", "doc": {"n": 9}},
        {"_op_type": "delete", "_index": "edit", "_id": "1"},
        {"_op_type": "delete", "_index": "edit", "_id": "never"},
    ]
    failed = failures(client, items)
    assert failed == [("ghost", 404, "document_missing_exception"), ("never", 404, "not_found")]
    assert target.get("edit", "0") == {"n": 0, "ts": DAYS[0], "extra": True}
    assert target.get("edit", "new") == {"n": 9}
    assert set(target.ids("edit")) == {"0", "new"}
    client.client.delete(index="edit", id="new")
    with pytest.raises(client.not_found):
        client.client.delete(index="edit", id="new")


@pytest.mark.parametrize(
    ("faults", "op", "status", "type_"),
    [
        ({"index_missing": True}, "index", 404, "index_not_found_exception"),
        ({"read_only": "write_block"}, "index", 403, "cluster_block_exception"),
        ({"read_only": "flood_stage"}, "index", 429, "cluster_block_exception"),
        ({"read_only": "flood_stage_legacy"}, "create", 403, "cluster_block_exception"),
        ({"no_privileges": True}, "index", 403, "security_exception"),
        ({"data_stream": True}, "index", 400, "illegal_argument_exception"),
    ],
)
def test_index_level_faults_fail_every_item(
    client: Flavour,
    target: ReceiverProcess,
    faults: dict[str, Any],
    op: str,
    status: int,
    type_: str,
) -> None:
    target.set_faults(**faults)
    failed = failures(client, actions("guarded", 3, op))
    assert failed == [(str(i), status, type_) for i in range(3)]
    assert target.ids("guarded") == {}


def test_a_data_stream_takes_creates(client: Flavour, target: ReceiverProcess) -> None:
    target.set_faults(data_stream=True)
    assert failures(client, actions("stream-ds", 3, "create")) == []
    assert len(target.ids("stream-ds")) == 3


def test_no_privileges_names_the_api_key(target: ReceiverProcess) -> None:
    target.set_faults(no_privileges=True)
    key = base64.b64encode(b"key-id-1:secret").decode()
    with elasticsearch.Elasticsearch(target.url, api_key=key) as client:
        ((ok, result),) = es_helpers.streaming_bulk(
            client, actions("secured", 1), raise_on_error=False
        )
    assert not ok
    assert result["index"]["error"]["reason"] == (
        "action [indices:data/write/bulk[s]] is unauthorized for API key id [key-id-1] of user "
        "[receiver] on indices [secured], this action is granted by the index privileges "
        "[create_doc,create,delete,index,write,all]"
    )


@pytest.mark.parametrize(
    ("faults", "status", "type_"),
    [
        ({"index_missing": True}, 404, "index_not_found_exception"),
        ({"read_only": "write_block"}, 403, "cluster_block_exception"),
        ({"read_only": "flood_stage"}, 429, "cluster_block_exception"),
        ({"no_privileges": True}, 403, "security_exception"),
        ({"data_stream": True}, 400, "illegal_argument_exception"),
    ],
)
def test_single_document_writes_fail_as_a_whole(
    client: Flavour, target: ReceiverProcess, faults: dict[str, Any], status: int, type_: str
) -> None:
    target.set_faults(**faults)
    with pytest.raises(client.api_error) as info:
        if client.name == "elasticsearch":
            client.client.index(index="single", id="1", document={"n": 1})
        else:
            client.client.index(index="single", id="1", body={"n": 1})
    assert client.status_of(info.value) == status
    assert info.value.info["error"]["type"] == type_
    assert target.ids("single") == {}


def test_a_missing_index_fails_reads_too(client: Flavour, target: ReceiverProcess) -> None:
    client.create("present", "1", {"n": 1})
    target.set_faults(index_missing=True)
    with pytest.raises(client.not_found) as info:
        client.client.get(index="present", id="1")
    assert info.value.info["error"]["resource.id"] == "present"
    with pytest.raises(client.not_found):
        client.client.delete(index="present", id="1")
    (doc,) = client.mget("present", ["1"])
    assert doc["error"]["type"] == "index_not_found_exception"
    assert target.get("present", "1") == {"n": 1}  # the helpers still see it


def search_page(client: Flavour, index: str, body: dict[str, Any]) -> dict[str, Any]:
    if client.name == "elasticsearch":
        return client.client.search(index=index, **body)
    return client.client.search(index=index, body=body)


def test_search_pages_with_search_after_over_a_range_and_a_term(client: Flavour) -> None:
    docs = [
        {
            "_index": "paged",
            "_id": f"d{i:03d}",
            "_source": {"ts": DAYS[i % 30], "_db2api": {"job": "a" if i % 3 else "b"}},
        }
        for i in range(90)
    ]
    assert client.helpers.bulk(client.client, docs) == (90, [])
    client.client.indices.refresh(index="paged")
    query = {
        "bool": {
            "filter": [
                {"range": {"ts": {"gte": "2024-05-01T00:00:00Z", "lt": "2024-05-11T00:00:00Z"}}},
                {"term": {"_db2api.job": "a"}},
            ]
        }
    }
    wanted = {
        d["_id"]
        for d in docs
        if d["_source"]["ts"] < DAYS[10] and d["_source"]["_db2api"]["job"] == "a"
    }
    seen: list[str] = []
    after = None
    while True:
        body: dict[str, Any] = {
            "size": 7,
            "_source": False,
            "query": query,
            "sort": [{"ts": "asc"}, {"_doc": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        hits = search_page(client, "paged", body)["hits"]["hits"]
        assert all("_source" not in hit and hit["_index"] == "paged" for hit in hits)
        seen += [hit["_id"] for hit in hits]
        if len(hits) < 7:
            break
        after = hits[-1]["sort"]
    assert len(seen) == len(set(seen)) == len(wanted) == 18  # three pages of 7
    assert set(seen) == wanted
    with pytest.raises(client.api_error) as info:
        search_page(client, "paged", {"from": 9_995, "size": 10, "query": query})
    assert client.status_of(info.value) == 400


def test_bulk_deletes_with_the_helpers(client: Flavour, target: ReceiverProcess) -> None:
    client.helpers.bulk(client.client, actions("gone", 10))
    deletes = [{"_op_type": "delete", "_index": "gone", "_id": str(i)} for i in range(0, 10, 2)]
    assert client.helpers.bulk(client.client, deletes) == (5, [])
    assert set(target.ids("gone")) == {"1", "3", "5", "7", "9"}
    # Deleting what is already gone answers not_found, which the helpers can let pass.
    again = client.helpers.bulk(client.client, deletes, raise_on_error=False)
    assert again[0] == 0 and all(e["delete"]["result"] == "not_found" for e in again[1])


def test_index_apis(client: Flavour, target: ReceiverProcess) -> None:
    """Create (mappings, settings), exists, get, mappings, delete, as a job's set-up uses them."""
    indices = client.client.indices
    mappings = {"dynamic": "strict", "properties": {"n": {"type": "long"}, "ts": {"type": "date"}}}
    body = {"settings": {"number_of_shards": 1}, "mappings": mappings}
    assert not indices.exists(index="life")
    created = client.create_index("life", body)
    assert (created["acknowledged"], created["shards_acknowledged"]) == (True, True)
    assert created["index"] == "life" and indices.exists(index="life")
    with pytest.raises(client.bad_request) as info:
        client.create_index("life", body)
    assert info.value.info["error"]["type"] == "resource_already_exists_exception"
    with pytest.raises(client.bad_request) as info:
        client.create_index("Life", {})
    assert info.value.info["error"]["type"] == "invalid_index_name_exception"
    assert indices.get_mapping(index="life")["life"]["mappings"] == mappings
    got = indices.get(index="life")["life"]
    assert got["settings"]["index"]["number_of_shards"] == "1" and got["mappings"] == mappings

    assert client.put_mapping("life", {"properties": {"name": {"type": "keyword"}}}) == {
        "acknowledged": True
    }
    with pytest.raises(client.bad_request) as info:
        client.put_mapping("life", {"properties": {"n": {"type": "keyword"}}})
    assert info.value.info["error"]["reason"] == (
        "mapper [n] cannot be changed from type [long] to [keyword]"
    )
    properties = indices.get_mapping(index="life")["life"]["mappings"]["properties"]
    assert properties["name"] == {"type": "keyword"} and properties["n"] == {"type": "long"}

    docs = [
        {"_index": "life", "_id": "ok", "_source": {"n": 1, "name": "a", "ts": "2024-05-01"}},
        {"_index": "life", "_id": "extra", "_source": {"n": 2, "colour": "red"}},
        {"_index": "life", "_id": "text", "_source": {"n": "two"}},
    ]
    assert failures(client, docs) == [
        ("extra", 400, "strict_dynamic_mapping_exception"),
        ("text", 400, "mapper_parsing_exception"),
    ]
    assert target.ids("life") == {"ok": 1}

    assert indices.delete(index="life") == {"acknowledged": True}
    assert not indices.exists(index="life") and target.ids("life") == {}
    with pytest.raises(client.not_found) as info:
        indices.delete(index="life")
    assert info.value.info["error"]["resource.type"] == "index_or_alias"
    with pytest.raises(client.not_found):
        indices.get_mapping(index="life")
