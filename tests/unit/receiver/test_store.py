"""The document store on a real SQLite file: versions count every write."""

from __future__ import annotations

from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp


def test_store_versions_count_each_write_even_within_one_batch(tmp_path) -> None:
    with Store(tmp_path / "r.sqlite") as store:
        ops = [WriteOp("index", "i", "x", f'{{"n":{n}}}') for n in range(3)]
        assert [(r.status, r.version) for r in store.write(ops)] == [(201, 1), (200, 2), (200, 3)]
        assert store.get("i", "x") == (3, '{"n":2}')
        assert store.count("i") == 1
        assert store.count("nope") is None
        assert store.ids("nope") is None
