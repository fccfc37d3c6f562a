"""Reconcile's search: ids of this job in the window, paged with search_after; anything else stops
the run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from db2api.errors import TargetError
from db2api.records.windows import Window
from db2api.targets.es_search import read_page, search_body


def test_the_search_asks_for_ids_of_this_job_in_the_window_and_pages_with_search_after():
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    first = search_body("at", "unit", window, None)
    assert first == {
        "size": 5000,
        "_source": False,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {
                        "range": {
                            "at": {"gte": "2024-01-01T00:00:00Z", "lt": "2024-01-02T00:00:00Z"}
                        }
                    },
                    {"term": {"_db2api.job": "unit"}},
                ]
            }
        },
        "sort": [{"at": "asc"}, {"_doc": "asc"}],
    }
    assert "from" not in first
    assert search_body("at", "unit", window, [1704067200000, 7])["search_after"] == [
        1704067200000,
        7,
    ]


def test_a_search_page_gives_ids_with_their_index_and_the_last_sort_values():
    body = orjson.dumps(
        {
            "hits": {
                "hits": [
                    {"_index": ".ds-x-1", "_id": "a", "_score": None, "sort": [1, 0]},
                    {"_index": ".ds-x-2", "_id": "b", "_score": None, "sort": [1, 3]},
                ]
            }
        }
    )
    assert read_page(body, "POST u") == ({"a": ".ds-x-1", "b": ".ds-x-2"}, [1, 3])
    assert read_page(b'{"hits": {"hits": []}}', "POST u") == ({}, None)


@pytest.mark.parametrize(
    "body", [b"<html>", b'{"count": 3}', b'{"hits": {"hits": [{"_index": "i", "_id": "a"}]}}']
)
def test_an_answer_that_is_not_a_search_response_stops_the_run(body):
    with pytest.raises(TargetError) as caught:
        read_page(body, "POST http://127.0.0.1:9/i/_search")
    assert "check that target.url points at Elasticsearch or OpenSearch" in caught.value.message
