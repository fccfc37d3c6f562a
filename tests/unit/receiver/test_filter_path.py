"""``filter_path`` as Elasticsearch documents it and as both engines were seen to apply it.

The first table quotes the examples of "Common options → Response filtering" (Elasticsearch
reference, https://www.elastic.co/guide/en/elasticsearch/reference/current/common-options.html#common-options-response-filtering;
source elastic/elasticsearch, docs/reference/rest-api/common-options.asciidoc): each request's
``filter_path``, an answer it could have cut (ours: the page shows only the result) and the
result the page prints. The second holds what the page leaves out, as OpenSearch 2.19.6 and
Elasticsearch 8.19.21 answered it (tests/integration/engines/test_filter_path.py sends the
same paths to the receiver and to both).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from db2api.receiver.filter_path import FilterPath, filter_answer, parse_filter_path

SEARCH = {
    "took": 3,
    "timed_out": False,
    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {
        "total": {"value": 1, "relation": "eq"},
        "max_score": 1.6375021,
        "hits": [{"_index": "my-index-000001", "_id": "0", "_score": 1.6375021}],
    },
}
CLUSTER_STATE = {
    "cluster_name": "docs",
    "metadata": {
        "cluster_uuid": "x",
        "indices": {
            "my-index-000001": {"state": "open", "settings": {}, "mappings": {}},
            "my-index-000002": {"state": "open", "settings": {}},
            "my-index-000003": {"state": "open", "version": 3},
            "logstash-2016.01": {"state": "open"},
        },
    },
    "routing_table": {
        "indices": {
            "my-index-000001": {
                "shards": {
                    "0": [
                        {"state": "STARTED", "primary": True, "node": "n1"},
                        {"state": "UNASSIGNED", "primary": False, "node": None},
                    ]
                }
            }
        }
    },
}
ONE_INDEX_STATE = {
    **CLUSTER_STATE,
    "metadata": {"indices": {"my-index-000001": {"state": "open", "settings": {}}}},
}
BOOKS = {
    "took": 2,
    "hits": {
        "hits": [
            {"_index": "library", "_id": "1", "_source": {"title": "Book #1"}},
            {"_index": "library", "_id": "2", "_source": {"title": "Book #2"}},
            {"_index": "library", "_id": "3", "_source": {"title": "Book #3"}},
        ]
    },
}

DOCUMENTED = [
    # GET /_search?q=kimchy&filter_path=took,hits.hits._id,hits.hits._score
    (
        "took,hits.hits._id,hits.hits._score",
        SEARCH,
        {"took": 3, "hits": {"hits": [{"_id": "0", "_score": 1.6375021}]}},
    ),
    # GET /_cluster/state?filter_path=metadata.indices.*.stat*
    (
        "metadata.indices.*.stat*",
        ONE_INDEX_STATE,
        {"metadata": {"indices": {"my-index-000001": {"state": "open"}}}},
    ),
    # GET /_cluster/state?filter_path=routing_table.indices.**.state
    (
        "routing_table.indices.**.state",
        CLUSTER_STATE,
        {
            "routing_table": {
                "indices": {
                    "my-index-000001": {
                        "shards": {"0": [{"state": "STARTED"}, {"state": "UNASSIGNED"}]}
                    }
                }
            }
        },
    ),
    # GET /_count?filter_path=-_shards
    (
        "-_shards",
        {"count": 5, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}},
        {"count": 5},
    ),
    # GET /_cluster/state?filter_path=metadata.indices.*.state,-metadata.indices.logstash-*
    (
        "metadata.indices.*.state,-metadata.indices.logstash-*",
        CLUSTER_STATE,
        {
            "metadata": {
                "indices": {
                    "my-index-000001": {"state": "open"},
                    "my-index-000002": {"state": "open"},
                    "my-index-000003": {"state": "open"},
                }
            }
        },
    ),
    # GET /_search?filter_path=hits.hits._source&_source=title&sort=rating:desc
    (
        "hits.hits._source",
        BOOKS,
        {
            "hits": {
                "hits": [
                    {"_source": {"title": "Book #1"}},
                    {"_source": {"title": "Book #2"}},
                    {"_source": {"title": "Book #3"}},
                ]
            }
        },
    ),
]


@pytest.mark.parametrize(("value", "answer", "expected"), DOCUMENTED)
def test_the_documented_examples(value: str, answer: Any, expected: Any) -> None:
    assert _cut(answer, value) == expected


BULK = {
    "took": 3,
    "errors": True,
    "items": [
        {"index": {"_index": "i", "_id": "1", "_version": 1, "status": 201}},
        {
            "index": {
                "_index": "i",
                "_id": "2",
                "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "failed to parse"},
            }
        },
        {"create": {"_index": "i", "_id": "3", "_shards": {"total": 1}, "status": 201}},
    ],
}
COUNT = {"count": 3, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
SEEN_ON_BOTH_ENGINES = [
    # db2api's own fields (es_bulk.ANSWER_FIELDS): every item keeps its position.
    (
        "items.*._id,items.*.status,items.*.error,error,status",
        BULK,
        {
            "items": [
                {"index": {"_id": "1", "status": 201}},
                {"index": {"_id": "2", "status": 400, "error": BULK["items"][1]["index"]["error"]}},
                {"create": {"_id": "3", "status": 201}},
            ]
        },
    ),
    # Errors alone: the items without one are dropped, positions are lost.
    ("items.*.error", BULK, {"items": [{"index": {"error": BULK["items"][1]["index"]["error"]}}]}),
    ("items.*.error", {"took": 1, "errors": False, "items": [{"index": {"_id": "1"}}]}, {}),
    ("items.index._id", BULK, {"items": [{"index": {"_id": "1"}}, {"index": {"_id": "2"}}]}),
    ("nothing", COUNT, {}),
    ("took,-took", BULK, {}),
    ("-**", COUNT, {}),
    ("**", COUNT, COUNT),
    ("co**", COUNT, {"count": 3}),
    ("*.total", COUNT, {"_shards": {"total": 1}}),
    # "**" stands for one level or more, never none.
    ("**.total", COUNT, {"_shards": {"total": 1}}),
    ("_shards.**.total", COUNT, {}),
    ("**.count", COUNT, {}),
    # Spaces around a path are ignored; a trailing dot matches nothing (Elasticsearch).
    ("count, _shards.total", COUNT, {"count": 3, "_shards": {"total": 1}}),
    ("_shards.", COUNT, {}),
    # A path that ends on a field keeps it whole; a deeper path beside it changes nothing.
    ("_shards,_shards.total", COUNT, {"_shards": COUNT["_shards"]}),
    # Exclusions first: what they empty is dropped, then inclusions find nothing there.
    ("-_shards.*,_shards", COUNT, {}),
    ("_shards.*,-_shards.failed", COUNT, {"_shards": {"total": 1, "successful": 1, "skipped": 0}}),
    (
        "-_shards.total,-_shards.successful,-_shards.skipped,-_shards.failed",
        COUNT,
        {"count": 3},
    ),
    (
        "-items.*._shards,-took",
        BULK,
        {
            "errors": True,
            "items": [
                BULK["items"][0],
                BULK["items"][1],
                {"create": {"_index": "i", "_id": "3", "status": 201}},
            ],
        },
    ),
    ("-docs.*", {"docs": [{"_id": "1", "found": True}]}, {}),
    # An exclusion keeps an array that was empty already (Elasticsearch; OpenSearch drops it).
    (
        "-hits.hits._source",
        {"took": 1, "hits": {"max_score": None, "hits": []}},
        {"took": 1, "hits": {"max_score": None, "hits": []}},
    ),
    ("hits.hits._id,took", {"took": 1, "hits": {"hits": []}}, {"took": 1}),
    # A plain value where a path goes deeper: not kept by an inclusion, kept by an exclusion.
    ("count.x", COUNT, {}),
    ("-count.x", COUNT, COUNT),
    # Only "*" is special in a segment.
    ("c?unt", COUNT, {}),
    ("[c]ount", {"[c]ount": 1, "count": 2}, {"[c]ount": 1}),
]


@pytest.mark.parametrize(("value", "answer", "expected"), SEEN_ON_BOTH_ENGINES)
def test_what_the_engines_do_beyond_the_page(value: str, answer: Any, expected: Any) -> None:
    assert _cut(answer, value) == expected


def test_a_stored_source_embedded_as_raw_json_is_cut_like_any_object() -> None:
    answer = {"docs": [{"_id": "1", "_source": orjson.Fragment(b'{"v":1,"w":{"x":2,"y":3}}')}]}
    assert _cut(answer, "docs._source.w.x") == {"docs": [{"_source": {"w": {"x": 2}}}]}
    assert _cut(answer, "-docs._source.v") == {
        "docs": [{"_id": "1", "_source": {"w": {"x": 2, "y": 3}}}]
    }
    kept = _cut(answer, "docs._source")  # kept whole: still the stored text, not re-encoded
    assert orjson.loads(orjson.dumps(kept)) == {
        "docs": [{"_source": {"v": 1, "w": {"x": 2, "y": 3}}}]
    }


@pytest.mark.parametrize("value", ["", " ", ",", "-", " , -"])
def test_a_value_naming_no_path_leaves_the_answer_whole(value: str) -> None:
    assert parse_filter_path(value) is None


def test_paths_are_split_into_inclusions_and_exclusions() -> None:
    assert parse_filter_path("a.b, -c.*,d") == FilterPath(
        include=(("a", "b"), ("d",)), exclude=(("c", "*"),)
    )


def _cut(answer: Any, value: str) -> Any:
    paths = parse_filter_path(value)
    assert paths is not None
    return filter_answer(answer, paths)
