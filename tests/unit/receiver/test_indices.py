"""The index APIs' answers: settings rendered with the index's identity."""

from __future__ import annotations

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.indices import index_body
from db2api.receiver.mapping import flat_settings
from db2api.receiver.refusals import index_uuid


def test_settings_render_nested_with_the_index_identity() -> None:
    assert flat_settings({"index.codec": "best_compression", "blocks": {"write": True}}) == {
        "index.codec": "best_compression",
        "index.blocks.write": "true",
    }
    definition = IndexDefinition("logs", {"index.number_of_shards": "2"}, {}, {}, 42)
    assert index_body(definition)["settings"] == {
        "index": {
            "creation_date": "42",
            "number_of_replicas": "1",
            "number_of_shards": "2",
            "provided_name": "logs",
            "uuid": index_uuid("logs"),
        }
    }
