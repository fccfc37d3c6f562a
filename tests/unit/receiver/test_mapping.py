"""Index definitions: create bodies, settings and mapping merges."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.mapping import (
    IndexRequestError,
    merge_mapping,
    parse_create,
    parse_mapping_update,
)


def refused(fn: Any, *args: Any) -> tuple[int, str, str]:
    with pytest.raises(IndexRequestError) as info:
        fn(*args)
    refusal = info.value.refusal
    return refusal.status, refusal.type, refusal.reason


LONG = {"type": "long"}


def strict(field: str, within: str) -> tuple[str, str]:
    return (
        "strict_dynamic_mapping_exception",
        f"mapping set to strict, dynamic introduction of [{field}] within [{within}] "
        "is not allowed",
    )


def test_create_body_keeps_settings_flat_and_mappings_as_given() -> None:
    body = {
        "settings": {"number_of_shards": 3, "index": {"refresh_interval": "5s"}},
        "mappings": {"dynamic": "strict", "properties": {"n": {"type": "long"}}},
        "aliases": {"current": {}},
    }
    definition = parse_create("logs", orjson.dumps(body), 1_700_000_000_000)
    assert definition.settings == {
        "index.number_of_shards": "3",
        "index.refresh_interval": "5s",
    }
    assert definition.mappings == body["mappings"] and definition.aliases == {"current": {}}
    assert parse_create("logs", b"", 5) == IndexDefinition("logs", created_ms=5)


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (b'{"mapping": {}}', (400, "parse_exception", "unknown key [mapping] for create index")),
        (b'{"settings": 1}', (400, "parse_exception", "[settings] must be an object")),
        (b"[]", (400, "parse_exception", "request body must be a JSON object")),
        (
            b'{"mappings": {"properties": {"n": "long"}}}',
            (
                400,
                "mapper_parsing_exception",
                "Expected map for property [n] with a string [type]",
            ),
        ),
        (
            b'{"mappings": {"properties": {"o": {"properties": []}}}}',
            (400, "mapper_parsing_exception", "[o.properties] must be an object"),
        ),
    ],
)
def test_create_body_refusals(body: bytes, refusal: tuple[int, str, str]) -> None:
    assert refused(parse_create, "logs", body, 0) == refusal


def test_a_mapping_update_needs_a_body() -> None:
    assert refused(parse_mapping_update, b"  ") == (
        400,
        "parse_exception",
        "request body is required",
    )
    assert parse_mapping_update(b'{"dynamic": "strict"}') == {"dynamic": "strict"}
    assert refused(parse_mapping_update, b"{")[1] == "x_content_parse_exception"


def test_merge_adds_fields_and_replaces_parameters() -> None:
    current = {"dynamic": "strict", "properties": {"n": LONG, "o": {"properties": {"a": LONG}}}}
    update = {
        "dynamic": "false",
        "properties": {
            "n": {"type": "long", "ignore_malformed": True},
            "o": {"properties": {"b": {"type": "keyword"}}},
            "new": {"type": "date"},
        },
    }
    assert merge_mapping(current, update) == {
        "dynamic": "false",
        "properties": {
            "n": {"type": "long", "ignore_malformed": True},
            "o": {"properties": {"a": LONG, "b": {"type": "keyword"}}},
            "new": {"type": "date"},
        },
    }
    assert merge_mapping({}, {"dynamic": "strict"}) == {"dynamic": "strict"}
    assert current["properties"]["o"] == {"properties": {"a": LONG}}  # not changed in place


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (
            {"properties": {"n": {"type": "keyword"}}},
            "mapper [n] cannot be changed from type [long] to [keyword]",
        ),
        (
            {"properties": {"o": {"properties": {"a": {"type": "integer"}}}}},
            "mapper [o.a] cannot be changed from type [long] to [integer]",
        ),
        (
            {"properties": {"o": {"type": "keyword"}}},
            "can't merge a non object mapping [o] with an object mapping",
        ),
        (
            {"properties": {"n": {"properties": {"x": LONG}}}},
            "mapper [n] cannot be changed from type [long] to [ObjectMapper]",
        ),
    ],
)
def test_merge_refuses_a_changed_type(update: dict[str, Any], reason: str) -> None:
    current = {"properties": {"n": LONG, "o": {"properties": {"a": LONG}}}}
    assert refused(merge_mapping, current, update) == (400, "illegal_argument_exception", reason)
