"""The receiver's search refuses what Elasticsearch refuses."""

from __future__ import annotations

import pytest

from db2api.receiver.protocol import ProtocolError
from db2api.receiver.search import parse_search


@pytest.mark.parametrize(
    ("body", "query", "reason"),
    [
        (
            b'{"size": 10000, "from": 1}',
            {},
            "Result window is too large, from + size must be "
            "less than or equal to: [10000] but was [10001].",
        ),
        (
            b'{"sort": ["t"], "search_after": [1], "from": 5}',
            {},
            "[from] parameter must be set to 0 when [search_after] is used",
        ),
        (
            b'{"sort": ["t"], "search_after": [1, 2]}',
            {},
            "search_after has 2 values but sort has 1",
        ),
        (
            b'{"query": {"match": {"a": 1}}}',
            {},
            "the receiver's _search understands match_all, bool, ids, range and term, not [match]",
        ),
        (b"{}", {"size": "20000"}, "Result window is too large"),
    ],
)
def test_the_receivers_search_refuses_what_elasticsearch_refuses(body, query, reason):
    with pytest.raises(ProtocolError) as caught:
        parse_search(body, query)
    assert caught.value.status == 400
    assert str(caught.value.body()["error"]["reason"]).startswith(reason)
