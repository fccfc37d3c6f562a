"""Partial updates: objects merge key by key, the rest replaces, and the store applies it."""

from __future__ import annotations

from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp, merge_documents


def test_update_merges_objects_and_replaces_the_rest(tmp_path) -> None:
    assert merge_documents({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]}) == {
        "a": {"x": 1, "y": 3},
        "b": [2],
    }
    with Store(tmp_path / "r.sqlite") as store:
        store.write([WriteOp("index", "i", "1", '{"a":{"x":1}}')])
        (result,) = store.write([WriteOp("update", "i", "1", '{"a":{"z":2}}')])
        assert (result.status, result.result, result.version) == (200, "updated", 2)
        assert store.get("i", "1") == (2, '{"a": {"x": 1, "z": 2}}', result.seq_no)
