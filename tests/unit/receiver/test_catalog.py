"""The receiver's index catalog on a real SQLite file: durable, and dropped with the documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.mapping import IndexRequestError, with_mapping
from db2api.receiver.store import Store
from db2api.receiver.writes import WriteOp

LOGS = IndexDefinition(
    "logs", {"index.number_of_shards": "1"}, {"properties": {"n": {"type": "long"}}}, {}, 7
)


def test_created_indices_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "rx.sqlite"
    with Store(path) as store:
        assert store.create_index(LOGS) is True
        assert store.create_index(LOGS) is False
        assert store.index_exists("logs") and store.count("logs") == 0
        assert store.ids("logs") == {}
    with Store(path) as store:
        assert store.defined == {"logs": LOGS}
        assert store.index_exists("logs")


def test_an_index_with_documents_exists_unless_the_caller_ignores_them(tmp_path: Path) -> None:
    with Store(tmp_path / "rx.sqlite") as store:
        store.write([WriteOp("index", "auto", "1", '{"n": 1}')])
        assert store.index_exists("auto") and "auto" not in store.defined
        assert store.create_index(IndexDefinition("auto")) is False
        assert store.create_index(IndexDefinition("auto"), documents_count=False) is True
        assert store.ids("auto") == {"1": 1}  # adopted, not emptied


def test_drop_removes_documents_and_definition_together(tmp_path: Path) -> None:
    path = tmp_path / "rx.sqlite"
    with Store(path) as store:
        store.create_index(LOGS)
        store.write([WriteOp("index", "logs", "1", "{}"), WriteOp("index", "other", "1", "{}")])
        assert store.drop_index("logs") is True
        assert store.drop_index("logs") is False
        assert not store.index_exists("logs") and store.ids("logs") is None
        assert store.ids("other") == {"1": 1}
        store.write([WriteOp("index", "auto", "1", "{}")])
        assert store.drop_index("auto") is True and not store.index_exists("auto")
    with Store(path) as store:
        assert store.defined == {}


def test_mapping_updates_are_stored_and_a_refused_one_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rx.sqlite"
    with Store(path) as store:
        store.create_index(LOGS)
        add = {"properties": {"ts": {"type": "date"}}}
        store.update_definition("logs", lambda d: with_mapping(d, add))
        change = {"properties": {"n": {"type": "keyword"}}}
        with pytest.raises(IndexRequestError):
            store.update_definition("logs", lambda d: with_mapping(d, change))
        # An auto-created index gets a definition on its first mapping update.
        store.update_definition("auto", lambda d: with_mapping(d, add))
    with Store(path) as store:
        assert store.defined["logs"].mappings == {
            "properties": {"n": {"type": "long"}, "ts": {"type": "date"}}
        }
        assert store.defined["logs"].settings == LOGS.settings
        assert store.defined["auto"].mappings == add


def test_clear_forgets_definitions(tmp_path: Path) -> None:
    with Store(tmp_path / "rx.sqlite") as store:
        store.create_index(LOGS)
        store.clear()
        assert store.defined == {} and not store.index_exists("logs")
