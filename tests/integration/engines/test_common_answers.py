"""The answers db2api recognises in their bytes, as the real engines write them.

db2api reads the common ``_bulk`` answer (every item 200 or 201, in the order sent) and
the common ``_mget`` answer (every id found) by comparing bytes with the answer the ids
sent would get (``es_bulk.is_success_answer``, ``es_proof.is_all_found``), and everything
else item by item. These tests pin the byte form on each engine, so an engine that
changes it shows here (db2api would still be right, only slower), and show that ids
needing JSON escapes are answered in the same spelling orjson writes.
"""

from __future__ import annotations

import orjson
import requests

from db2api.records.document import Document
from db2api.targets.es_bulk import ANSWER_FIELDS, BulkFraming, is_success_answer, parse_response
from db2api.targets.es_proof import PROOF_FIELDS, is_all_found
from tests.support.node_reads import own_index, put_index
from tests.support.search_nodes import SearchNode

IDS = ["1", "42", 'q"uote', 'a","b', "back\\slash", "new\nline", "tab\there", "ünï €", "a/b"]
NDJSON = {"Content-Type": "application/x-ndjson"}
TIMEOUT = 30


def bulk(node: SearchNode, index: str, op_type: str, ids: list[str]) -> bytes:
    documents = [Document(doc_id, orjson.dumps({"n": n})) for n, doc_id in enumerate(ids)]
    body = BulkFraming(index, op_type).body(documents)  # type: ignore[arg-type]
    answer = requests.post(
        f"{node.url}/_bulk?{ANSWER_FIELDS}", data=body, headers=NDJSON, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def mget(node: SearchNode, index: str, ids: list[str]) -> bytes:
    answer = requests.post(
        f"{node.url}/{index}/_mget?_source=false&{PROOF_FIELDS}", json={"ids": ids}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def test_created_and_overwritten_documents_are_recognised_in_the_bytes(
    search_node: SearchNode,
) -> None:
    with own_index(search_node, "common-answers") as index:
        put_index(search_node.url, index, {"settings": {"number_of_replicas": 0}})

        created = bulk(search_node, index, "index", IDS)
        overwritten = bulk(search_node, index, "index", IDS)
        mixed = bulk(search_node, index, "index", ["new-1", *IDS[:3], "new-2"])

        for answer, ids in (
            (created, IDS),
            (overwritten, IDS),
            (mixed, ["new-1", *IDS[:3], "new-2"]),
        ):
            assert is_success_answer(answer, ids, "index"), answer
            assert parse_response(answer, ids, "url", index) is None
        assert b'"status":200' in overwritten and b'"status":201' in mixed
        everything = [*IDS, "new-1", "new-2"]
        assert is_all_found(mget(search_node, index, everything), everything)


def test_answers_with_a_refusal_or_a_missing_id_are_read_entry_by_entry(
    search_node: SearchNode,
) -> None:
    with own_index(search_node, "common-refusals") as index:
        put_index(search_node.url, index, {"settings": {"number_of_replicas": 0}})
        assert is_success_answer(bulk(search_node, index, "create", IDS[:2]), IDS[:2], "create")

        again = bulk(search_node, index, "create", IDS[:3])  # two exist: 409 for them
        asked = [*IDS[:3], "absent"]
        found = mget(search_node, index, asked)

        assert not is_success_answer(again, IDS[:3], "create")
        results = parse_response(again, IDS[:3], "url", index, "create")
        assert results is not None and [r.status for r in results] == [409, 409, 201]
        assert not is_all_found(found, asked)
        assert [d["found"] for d in orjson.loads(found)["docs"]] == [True, True, True, False]
