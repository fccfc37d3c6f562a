"""The _bulk protocol: batching by count and bytes, and reading responses back."""

from __future__ import annotations

import orjson
import pytest

from db2api.errors import TargetError
from db2api.records.document import Document
from db2api.targets.es_bulk import (
    Batch,
    BulkFraming,
    ItemResult,
    action_line,
    body,
    entry_size,
    is_success_answer,
    iter_batches,
    parse_response,
)

INDEX = "readings"

URL = "http://127.0.0.1:9200/_bulk"


def doc(doc_id: str, size: int = 10) -> Document:
    """A document whose JSON body is exactly ``size`` bytes (size >= 10)."""
    body = orjson.dumps({"v": "x" * (size - 8)})
    assert len(body) == size
    return Document(doc_id, body)


def pair_size(document: Document) -> int:
    return len(action_line(INDEX, document.id)) + 1 + len(document.body) + 1


def batch_ids(items) -> list:
    return [[d.id for d in i.documents] if isinstance(i, Batch) else i.id for i in items]


def test_entry_size_counts_both_newlines():
    document = doc("1", 20)
    action = action_line(INDEX, "1")

    assert action == b'{"index":{"_index":"readings","_id":"1"}}'
    assert entry_size(action, document) == len(action) + 20 + 2


def test_a_retry_body_is_built_as_the_batch_was():
    documents = [doc(str(i), 12 + i) for i in range(4)]
    (batch,) = iter_batches(documents, INDEX, 10, 10_000)

    assert body(INDEX, documents) == batch.body
    assert body(INDEX, documents[1:3]) == b"".join(
        action_line(INDEX, d.id) + b"\n" + d.body + b"\n" for d in documents[1:3]
    )


@pytest.mark.parametrize(
    ("count", "max_docs", "sizes"),
    [
        (10, 3, [3, 3, 3, 1]),
        (9, 3, [3, 3, 3]),
        (1, 5, [1]),
        (5, 1, [1, 1, 1, 1, 1]),
        (0, 3, []),
    ],
)
def test_batches_respect_max_docs(count, max_docs, sizes):
    documents = [doc(str(i)) for i in range(count)]

    batches = list(iter_batches(documents, INDEX, max_docs=max_docs, max_bytes=1_000_000))

    assert [len(b.documents) for b in batches] == sizes
    assert [d for b in batches for d in b.documents] == documents


@pytest.mark.parametrize("per_batch", [1, 2, 3, 7])
def test_batches_respect_max_bytes_counting_both_newlines(per_batch):
    documents = [doc(str(i), 40) for i in range(10)]
    one = pair_size(documents[0])
    # Room for exactly `per_batch` pairs, one byte short of another.
    max_bytes = one * (per_batch + 1) - 1

    batches = list(iter_batches(documents, INDEX, max_docs=1000, max_bytes=max_bytes))

    assert all(isinstance(b, Batch) for b in batches)
    assert [len(b.documents) for b in batches[:-1]] == [per_batch] * (len(batches) - 1)
    assert sum(len(b.documents) for b in batches) == 10
    for batch in batches:
        assert len(batch.body) <= max_bytes
        assert len(batch.body) == sum(pair_size(d) for d in batch.documents)


def test_a_batch_fills_up_to_exactly_max_bytes():
    documents = [doc(str(i), 40) for i in range(4)]
    exact = 2 * pair_size(documents[0])

    batches = list(iter_batches(documents, INDEX, max_docs=1000, max_bytes=exact))

    assert batch_ids(batches) == [["0", "1"], ["2", "3"]]
    assert [len(b.body) for b in batches] == [exact, exact]


def test_a_single_oversize_document_is_yielded_bare_and_the_rest_still_batched():
    small = [doc(str(i), 20) for i in range(4)]
    huge = doc("huge", 500)
    documents = [small[0], small[1], huge, small[2], small[3]]
    max_bytes = 3 * pair_size(small[0])

    items = list(iter_batches(documents, INDEX, max_docs=1000, max_bytes=max_bytes))

    assert batch_ids(items) == ["huge", ["0", "1", "2"], ["3"]]
    assert items[0] is huge
    assert isinstance(items[0], Document)


def test_a_document_exactly_at_max_bytes_is_sent_alone():
    document = doc("1", 60)

    items = list(iter_batches([document], INDEX, max_docs=10, max_bytes=pair_size(document)))

    assert batch_ids(items) == [["1"]]


def test_body_is_ndjson_action_and_source_pairs():
    documents = [doc("a", 12), Document("b:2", b'{"n":1}'), Document('q"uote', b"{}")]

    (batch,) = iter_batches(documents, INDEX, max_docs=10, max_bytes=10_000)

    assert batch.body.endswith(b"\n")
    lines = batch.body.split(b"\n")[:-1]
    assert len(lines) == 2 * len(documents)
    actions = [orjson.loads(line) for line in lines[0::2]]
    assert actions == [{"index": {"_index": INDEX, "_id": d.id}} for d in documents]
    assert lines[1::2] == [d.body for d in documents]


def bulk_body(*items) -> bytes:
    return orjson.dumps({"took": 3, "errors": True, "items": list(items)})


def ids(count: int) -> list[str]:
    return [str(i) for i in range(1, count + 1)]


def parse(body: bytes, sent: list[str], action: str = "index") -> list[ItemResult] | None:
    return parse_response(body, sent, URL, INDEX, action)


def test_parse_response_maps_mixed_statuses_in_order():
    body = bulk_body(
        {"index": {"_id": "1", "status": 201, "result": "created"}},
        {"index": {"_id": "2", "status": 200, "result": "updated"}},
        {
            "index": {
                "_id": "3",
                "status": 400,
                "error": {
                    "type": "mapper_parsing_exception",
                    "reason": "failed to parse field [depth]",
                    "caused_by": {"type": "number_format_exception", "reason": 'For input "x"'},
                },
            }
        },
        {
            "index": {
                "_id": "4",
                "status": 429,
                "error": {"type": "es_rejected_execution_exception", "reason": "queue full"},
            }
        },
        {"index": {"_id": "5", "status": 503, "error": "unavailable"}},
        {"index": {"_id": "6", "error": {"type": "x", "reason": "no status"}}},
    )

    results = parse(body, ids(6))

    assert results == [
        ItemResult(201, "", ""),
        ItemResult(200, "", ""),
        ItemResult(400, "mapper_parsing_exception", 'failed to parse field [depth]: For input "x"'),
        ItemResult(429, "es_rejected_execution_exception", "queue full"),
        ItemResult(503, "error", "unavailable"),
        ItemResult(500, "x", "no status"),
    ]


REFUSED = {"type": "mapper_parsing_exception", "reason": "bad"}


def test_items_in_another_order_are_matched_by_id():
    body = bulk_body(
        {"index": {"_id": "3", "status": 400, "error": REFUSED}},
        {"index": {"_id": "1", "status": 201}},
        {"index": {"_id": "2", "status": 201}},
    )

    assert parse(body, ids(3)) == [
        ItemResult(201, "", ""),
        ItemResult(201, "", ""),
        ItemResult(400, "mapper_parsing_exception", "bad"),
    ]


def test_a_numeric_id_names_the_document_with_that_text():
    body = bulk_body({"index": {"_id": 2, "status": 201}}, {"index": {"_id": 1, "status": 201}})

    assert parse(body, ids(2)) is None


def test_equal_ids_are_matched_in_order():
    body = bulk_body(
        {"index": {"_id": "b", "status": 201}},
        {"index": {"_id": "a", "status": 400, "error": REFUSED}},
        {"index": {"_id": "a", "status": 200}},
    )

    assert parse(body, ["a", "b", "a"]) == [
        ItemResult(400, "mapper_parsing_exception", "bad"),
        ItemResult(201, "", ""),
        ItemResult(200, "", ""),
    ]


TWO_DONE = [{"index": {"_id": "1", "status": 201}}, {"index": {"_id": "2", "status": 201}}]

OUT_OF_PROTOCOL = (
    "the target, or a proxy in front of it, answers _bulk out of protocol; nothing was "
    "dead-lettered, the window runs again next time"
)


@pytest.mark.parametrize(
    ("items", "said"),
    [
        (
            TWO_DONE,
            "sent 3 index actions, the answer has 2 items; no item for id 3",
        ),
        (
            [{"index": {"_id": str(i), "status": 201}} for i in (1, 2, 3, 3)],
            "sent 3 index actions, the answer has 4 items; items not sent: 3",
        ),
        (
            [{"index": {"_id": i, "status": 201}} for i in ("1", "2", "zz")],
            "sent 3 index actions, the answer has 3 items; no item for id 3; items not sent: zz",
        ),
        (
            [*TWO_DONE, {"create": {"_id": "3", "status": 201}}],
            "sent 3 index actions, the answer has 3 items; no item for id 3; items not sent: "
            "create 3",
        ),
        (
            [*TWO_DONE, {"index": {"status": 201}}],
            "sent 3 index actions, the answer has 3 items; no item for id 3; items not sent: None",
        ),
    ],
    ids=["short", "long", "foreign id", "other action", "no id"],
)
@pytest.mark.parametrize("errors", [False, True])
def test_an_answer_that_does_not_pair_up_stops_the_run_in_one_line(items, said, errors):
    body = orjson.dumps({"took": 1, "errors": errors, "items": items})

    with pytest.raises(TargetError) as caught:
        parse(body, ids(3))

    assert caught.value.message == f"index {INDEX} at {URL}: {said}: {OUT_OF_PROTOCOL}"


def test_a_compact_answer_with_a_top_level_status_and_an_item_missing_stops():
    body = (
        b'{"took":2,"errors":false,"status":200,"items":[{"index":{"_index":"readings",'
        b'"_id":"1","status":201}},{"index":{"_index":"readings","_id":"2","status":201}}]}'
    )

    with pytest.raises(TargetError, match="sent 3 index actions, the answer has 2 items"):
        parse(body, ids(3))


@pytest.mark.parametrize(
    "item",
    ["text", {}, {"index": 7}, {"index": {"status": "abc"}}, {"index": {"status": True}}],
)
def test_an_item_without_a_readable_status_stops_the_run_in_one_line(item):
    with pytest.raises(TargetError) as caught:
        parse(bulk_body(item), ids(1))

    assert str(caught.value) == (
        f"target's _bulk response at {URL} has an item without a valid status "
        f"({item!r:.80}): check that target.url points at an Elasticsearch/OpenSearch-"
        "compatible API"
    )


def test_items_decide_even_when_the_flag_says_no_errors():
    body = orjson.dumps(
        {
            "errors": False,
            "items": [
                {"index": {"_id": "1", "status": 400, "error": {"type": "t", "reason": "r"}}}
            ],
        }
    )

    assert parse(body, ids(1)) == [ItemResult(400, "t", "r")]


def test_a_compact_errors_false_over_a_failed_item_without_error_is_not_trusted():
    body = b'{"took":1,"errors":false,"items":[{"index":{"_id":"1","status":400}}]}'

    assert parse(body, ids(1)) == [
        ItemResult(400, "error", "the target gave no reason for this item")
    ]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"index": {"_id": "1", "status": 409, "error": {}}},
            ItemResult(409, "error", "the target gave no reason for this item"),
        ),
        (
            {"index": {"_id": "1", "status": 400}},
            ItemResult(400, "error", "the target gave no reason for this item"),
        ),
        (
            {
                "index": {
                    "_id": "1",
                    "status": 400,
                    "error": {"reason": "bad", "caused_by": {"type": "t"}},
                }
            },
            ItemResult(400, "error", "bad"),
        ),
    ],
)
def test_odd_items_are_read_without_crashing(item, expected):
    assert parse(bulk_body(item), ids(1)) == [expected]


@pytest.mark.parametrize(
    ("body", "snippet"),
    [
        (b"<html>\n<h1>502 Bad Gateway</h1></html>", "'<html> <h1>502 Bad Gateway</h1></html>'"),
        (b"", "''"),
        (b"x" * 200, repr("x" * 80)),
    ],
)
def test_a_body_that_is_not_json_raises_target_error(body, snippet):
    with pytest.raises(TargetError) as caught:
        parse(body, ids(1))

    assert caught.value.message == (
        f"target answered POST {URL} with something that is not JSON ({snippet}): "
        "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"acknowledged": true}', 1),
        (b'{"items": "many"}', 1),
        (b"[1, 2]", 2),
    ],
)
def test_an_answer_without_items_raises_target_error(body, expected):
    with pytest.raises(TargetError) as caught:
        parse(body, ids(expected))

    assert caught.value.message == (
        f"target's _bulk response at {URL} has no items for {expected} documents: "
        "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
    )


def test_an_all_ok_response_takes_the_fast_path():
    items = [{"index": {"_id": str(i), "status": 201}} for i in range(1, 4)]
    body = orjson.dumps({"took": 1, "errors": False, "items": items})

    assert parse(body, ids(3)) is None
    with pytest.raises(TargetError, match="sent 4 index actions, the answer has 3 items"):
        parse(body, ids(4))


def test_delete_answers_are_matched_by_id_and_action():
    body = bulk_body(
        {"delete": {"_id": "2", "status": 404, "result": "not_found"}},
        {"delete": {"_id": "1", "status": 200, "result": "deleted"}},
    )

    assert parse(body, ids(2), "delete") == [
        ItemResult(200, "", ""),
        ItemResult(404, "error", "the target gave no reason for this item"),
    ]


def test_the_ndjson_entry_is_the_action_line_and_the_document_with_their_newlines() -> None:
    odd = Document('a"%s\\b', b'{"k":1}')
    entry = BulkFraming('in"%dex', "create").entry(odd)
    assert entry == action_line('in"%dex', 'a"%s\\b', "create") + b'\n{"k":1}\n'


ODD_IDS = [
    "1",
    'q"uote',
    'a","b',
    "back\\slash",
    "new\nline",
    "tab\there",
    "ünï",
    "%s%%",
    "a/b",
    "",
]


def test_a_body_built_at_once_is_every_entry_in_order() -> None:
    documents = [Document(doc_id, b'{"n":%d}' % n) for n, doc_id in enumerate(ODD_IDS)]
    for index, op_type in ((INDEX, "index"), ('in"%dex', "create")):
        framing = BulkFraming(index, op_type)  # type: ignore[arg-type]
        body_at_once = framing.body(documents)
        assert body_at_once == b"".join(framing.entry(d) for d in documents)
        lines = body_at_once.split(b"\n")
        assert lines[-1] == b"" and len(lines) == 2 * len(documents) + 1
        assert lines[0:-1:2] == [action_line(index, d.id, op_type) for d in documents]  # type: ignore[arg-type]
        assert lines[1:-1:2] == [d.body for d in documents]
    assert BulkFraming(INDEX).body([]) == b""


def compact(action: str, *items: tuple[str, int]) -> bytes:
    """An answer as both engines write it under ANSWER_FIELDS."""
    parts = [{action: {"_id": doc_id, "status": status}} for doc_id, status in items]
    return orjson.dumps({"items": parts})


@pytest.mark.parametrize(
    ("body", "sent", "action", "expected"),
    [
        (compact("index", ("1", 201), ("2", 201)), ["1", "2"], "index", True),
        (compact("index", ("1", 200), ("2", 201)), ["1", "2"], "index", True),
        (compact("create", ("1", 201)), ["1"], "create", True),
        (compact("delete", ("1", 200)), ["1"], "delete", True),
        (compact("index", *[(i, 201) for i in ODD_IDS]), ODD_IDS, "index", True),
        # anything else is read item by item
        (compact("index", ("1", 201), ("2", 400)), ["1", "2"], "index", False),
        (compact("index", ("1", 202)), ["1"], "index", False),
        (compact("index", ("1", 409)), ["1"], "create", False),
        (compact("create", ("1", 201)), ["1"], "index", False),
        (compact("index", ("2", 201), ("1", 201)), ["1", "2"], "index", False),
        (compact("index", ("1", 201)), ["1", "2"], "index", False),
        (compact("index", ("1", 201), ("2", 201)), ["1"], "index", False),
        (compact("index", ("a", 201), ("b", 201)), ['a","b'], "index", False),
        (compact("index", ('a","b', 201)), ["a", "b"], "index", False),
        (compact("index", ("1", 201)).replace(b":", b": "), ["1"], "index", False),
        (b'{"errors":false,"items":[{"index":{"_id":"1","status":201}}]}', ["1"], "index", False),
        (b"", [], "index", False),
        (b'{"items":[]}', [], "index", False),
    ],
)
def test_the_common_answer_is_recognised_in_its_bytes_and_nothing_else_is(
    body: bytes, sent: list[str], action: str, expected: bool
) -> None:
    assert is_success_answer(body, sent, action) is expected
    if expected:
        assert parse(body, sent, action) is None


def test_an_answer_read_item_by_item_still_decides_per_document() -> None:
    body = compact("index", ("1", 201), ("2", 400), ("3", 200))

    assert parse(body, ids(3)) == [
        ItemResult(201, "", ""),
        ItemResult(400, "error", "the target gave no reason for this item"),
        ItemResult(200, "", ""),
    ]
