"""The wire format every API shares: index and id rules, and the ``_count`` query."""

from __future__ import annotations

import pytest

from db2api.receiver.protocol import ProtocolError, check_id, check_target, parse_count_query


def test_index_and_id_rules() -> None:
    assert check_target("orders-2024.05", "1") is None
    for bad in ("Orders", "_x", "-x", "a b", "a/b", "a:b", "..", "x" * 256):
        refusal = check_target(bad, "")  # the name is checked before the id
        assert refusal is not None and refusal.type == "invalid_index_name_exception", bad
    refusal = check_target("ok", "")
    assert refusal is not None and refusal.reason == "if _id is specified it must not be empty"
    assert check_id("ä/ b:😀") is None
    assert check_id("é" * 256) is None  # 512 bytes is still allowed
    problem = check_id("é" * 257)
    assert problem is not None and "514" in problem[2]


def test_parse_count_query() -> None:
    assert parse_count_query(b"") == (None, [])
    assert parse_count_query(b'{"query":{"match_all":{}}}') == (None, [])
    body = b'{"query":{"range":{"ts":{"gte":"2024-01-01","lt":"2024-02-01","format":"x"}}}}'
    assert parse_count_query(body) == ("ts", [("gte", "2024-01-01"), ("lt", "2024-02-01")])
    assert parse_count_query(b'{"query":{"range":{"n":{"gt":1,"lte":5}}}}') == (
        "n",
        [("gt", 1), ("lte", 5)],
    )
    for bad in (
        b'{"query":{"term":{"a":1}}}',
        b'{"query":{"range":{"n":{"near":1}}}}',
        b'{"query":{"range":{"n":{"gte":[1]}}}}',
        b"{oops",
    ):
        with pytest.raises(ProtocolError):
            parse_count_query(bad)
