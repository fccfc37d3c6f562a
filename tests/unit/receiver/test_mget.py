"""Reads by id: the ``_mget`` body forms and the ``_source`` setting."""

from __future__ import annotations

from db2api.receiver.mget import parse_mget


def test_parse_mget_forms_and_source() -> None:
    assert [(d.index, d.id, d.source) for d in parse_mget(b'{"ids":["1",2]}', "i", None)] == [
        ("i", "1", True),
        ("i", "2", True),
    ]
    assert parse_mget(b'{"ids":["1"]}', "i", "false")[0].source is False
    assert parse_mget(b'{"ids":["1"],"_source":false}', "i", None)[0].source is False
    docs = b'{"docs":[{"_index":"a","_id":"1"},{"_id":"2","_source":["n"]}]}'
    assert [(d.index, d.id, d.source) for d in parse_mget(docs, "i", None)] == [
        ("a", "1", True),
        ("i", "2", ["n"]),
    ]
