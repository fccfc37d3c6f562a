"""Index definitions: names, create bodies, mapping merges, and documents against a mapping."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.indices import index_body
from db2api.receiver.mapping import (
    IndexRequestError,
    document_refusal,
    flat_settings,
    merge_mapping,
    parse_create,
    parse_mapping_update,
)
from db2api.receiver.refusals import (
    already_exists,
    index_name_problem,
    index_uuid,
    invalid_name,
    no_such_index,
)

CHARS = 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("orders-2024.05", None),
        (".hidden", None),
        ("ä-😀", None),
        ("Orders", "must be lowercase"),
        ("_x", "must not start with '_', '-', or '+'"),
        ("-x", "must not start with '_', '-', or '+'"),
        ("+x", "must not start with '_', '-', or '+'"),
        (".", "must not be '.' or '..'"),
        ("..", "must not be '.' or '..'"),
        ("a#b", "must not contain '#'"),
        ("a:b", "must not contain ':'"),
        *((f"a{c}b", CHARS) for c in '\\/*?"<>| ,'),
        ("x" * 255, None),
        ("x" * 256, "index name is too long, (256 > 255)"),
        ("é" * 128, "index name is too long, (256 > 255)"),
        # The first broken rule wins, in Elasticsearch's order: characters, '#', ':',
        # the first character, length, dots, and lowercase last.
        ("_A b", CHARS),
        ("_A#", "must not contain '#'"),
        ("_Ab", "must not start with '_', '-', or '+'"),
    ],
)
def test_index_name_rules(name: str, problem: str | None) -> None:
    assert index_name_problem(name) == problem


def test_index_api_refusal_bodies() -> None:
    invalid = invalid_name("Logs")
    assert invalid is not None and invalid.body() == {
        "error": {
            "root_cause": [
                {
                    "type": "invalid_index_name_exception",
                    "reason": "Invalid index name [Logs], must be lowercase",
                    "index_uuid": "_na_",
                    "index": "Logs",
                }
            ],
            "type": "invalid_index_name_exception",
            "reason": "Invalid index name [Logs], must be lowercase",
            "index_uuid": "_na_",
            "index": "Logs",
        },
        "status": 400,
    }
    uuid = index_uuid("logs")
    exists = already_exists("logs")
    assert (exists.status, exists.error()) == (
        400,
        {
            "type": "resource_already_exists_exception",
            "reason": f"index [logs/{uuid}] already exists",
            "index_uuid": uuid,
            "index": "logs",
        },
    )
    missing = no_such_index("gone")
    assert (missing.status, missing.error()) == (
        404,
        {
            "type": "index_not_found_exception",
            "reason": "no such index [gone]",
            "resource.type": "index_or_alias",
            "resource.id": "gone",
            "index_uuid": "_na_",
            "index": "gone",
        },
    )


def refused(fn: Any, *args: Any) -> tuple[int, str, str]:
    with pytest.raises(IndexRequestError) as info:
        fn(*args)
    refusal = info.value.refusal
    return refusal.status, refusal.type, refusal.reason


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


LONG = {"type": "long"}


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


MAPPING = {
    "dynamic": "strict",
    "properties": {
        "n": LONG,
        "i": {"type": "integer"},
        "b": {"type": "byte"},
        "ok": {"type": "boolean"},
        "ts": {"type": "date"},
        "day": {"type": "date", "format": "dd/MM/yyyy"},
        "name": {"type": "keyword"},
        "o": {"properties": {"a": LONG}},
        "loose": {"dynamic": "true", "properties": {}},
    },
}


def strict(field: str, within: str) -> tuple[str, str]:
    return (
        "strict_dynamic_mapping_exception",
        f"mapping set to strict, dynamic introduction of [{field}] within [{within}] "
        "is not allowed",
    )


def parse(field: str, type_: str, preview: str, doc_id: str = "d1") -> tuple[str, str]:
    return (
        "mapper_parsing_exception",
        f"failed to parse field [{field}] of type [{type_}] in document with id '{doc_id}'. "
        f"Preview of field's value: '{preview}'",
    )


@pytest.mark.parametrize(
    ("doc", "refusal"),
    [
        ({"n": 1, "name": "x", "ok": True, "ts": "2024-05-01T10:00:00Z"}, None),
        ({"n": "12", "i": 1.9, "b": -128, "ok": "false", "ts": 1714557600000}, None),
        ({"ts": "2024-05", "day": "whatever", "n": None, "ok": ""}, None),
        ({"ts": "2024-05-01T10:00:00.123+02:00", "n": [1, "2", None]}, None),
        ({"o": {"a": 1}, "o.a": 2, "loose": {"anything": 1}}, None),
        ({"extra": 1}, strict("extra", "_doc")),
        ({"o": {"a": 1, "b": 2}}, strict("b", "o")),
        ({"o.b": 2}, strict("b", "o")),
        ({"o": [{"a": 1}, {"c": 1}]}, strict("c", "o")),
        ({"n": "abc"}, parse("n", "long", "abc")),
        ({"n": True}, parse("n", "long", "true")),
        ({"n": {"v": 1}}, parse("n", "long", "{v=1}")),
        ({"n": [1, "x"]}, parse("n", "long", "x")),
        ({"n": 2**63}, parse("n", "long", str(2**63))),
        ({"n": "1 "}, parse("n", "long", "1 ")),
        ({"i": 2**31}, parse("i", "integer", str(2**31))),
        ({"b": 128}, parse("b", "byte", "128")),
        ({"ok": 1}, parse("ok", "boolean", "1")),
        ({"ok": "yes"}, parse("ok", "boolean", "yes")),
        ({"ts": "2024-13-01"}, parse("ts", "date", "2024-13-01")),
        ({"ts": "yesterday"}, parse("ts", "date", "yesterday")),
        ({"ts": False}, parse("ts", "date", "false")),
        ({"o": {"a": "x"}}, parse("o.a", "long", "x")),
        # Document order decides which problem is reported.
        ({"n": "x", "extra": 1}, parse("n", "long", "x")),
        ({"extra": 1, "n": "x"}, strict("extra", "_doc")),
    ],
)
def test_documents_against_a_mapping(doc: dict[str, Any], refusal: tuple[str, str] | None) -> None:
    got = document_refusal(IndexDefinition("logs", mappings=MAPPING), doc, "d1", None)
    assert (None if got is None else (got.type, got.reason)) == refusal
    assert got is None or (got.status, got.meta) == (400, {})


def test_an_update_checks_its_upsert_too_and_plain_mappings_refuse_nothing() -> None:
    definition = IndexDefinition("logs", mappings=MAPPING)
    got = document_refusal(definition, {"n": 1}, "u1", b'{"n": "x"}')
    assert got is not None and (got.type, got.reason) == parse("n", "long", "x", "u1")
    plain = IndexDefinition("logs", mappings={"properties": {"name": {"type": "text"}}})
    assert document_refusal(plain, {"name": 1, "other": {"x": [1]}}, "p", None) is None
    assert document_refusal(None, {"n": "x"}, "p", None) is None
    lax = IndexDefinition("logs", mappings={"dynamic": "false", "properties": {"n": LONG}})
    assert document_refusal(lax, {"other": 1}, "p", None) is None
    nested_strict = {"properties": {"o": {"dynamic": "strict", "properties": {}}}}
    got = document_refusal(IndexDefinition("x", mappings=nested_strict), {"o": {"z": 1}}, "p", None)
    assert got is not None and got.reason == strict("z", "o")[1]
