"""Documents against a created index's mapping: strict fields and field types."""

from __future__ import annotations

from typing import Any

import pytest

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.mapped_documents import document_refusal

LONG = {"type": "long"}


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
        ({"name": {"a": 1}}, parse("name", "keyword", "{a=1}")),
        ({"name": 1, "n": 1.5}, None),  # a keyword takes any plain value
        # Document order decides which problem is reported.
        ({"n": "x", "extra": 1}, parse("n", "long", "x")),
        ({"extra": 1, "n": "x"}, strict("extra", "_doc")),
    ],
)
def test_documents_against_a_mapping(doc: dict[str, Any], refusal: tuple[str, str] | None) -> None:
    got = document_refusal(IndexDefinition("logs", mappings=MAPPING), doc, "d1", None)
    assert (None if got is None else (got.type, got.reason)) == refusal
    assert got is None or got.status == 400
    if got is not None and got.type == "strict_dynamic_mapping_exception":
        assert got.meta == {}


# What each engine put under the refusal (OpenSearch 2.19.6 and Elasticsearch 8.19.21, a
# strict index of those field types, one _bulk; locations such as "at 1:7" left out).
CAUSES = [
    ({"n": "abc"}, "illegal_argument_exception", 'For input string: "abc"'),
    ({"n": [1, "x"]}, "illegal_argument_exception", 'For input string: "x"'),
    ({"n": "1e30"}, "illegal_argument_exception", "Value [1e30] is out of range for a long"),
    (
        {"n": 2**63},
        "input_coercion_exception",
        f"Numeric value ({2**63}) out of range of long ({-(2**63)} - {2**63 - 1})",
    ),
    (
        {"i": 2**31},
        "input_coercion_exception",
        "Numeric value (2147483648) out of range of int (-2147483648 - 2147483647)",
    ),
    ({"n": {"v": 1}}, "illegal_argument_exception", "Cannot parse object as number"),
    (
        {"n": True},
        "json_parse_exception",
        "Current token (VALUE_TRUE) not numeric, can not use numeric value accessors",
    ),
    (
        {"ok": "yes"},
        "illegal_argument_exception",
        "Failed to parse value [yes] as only [true] or [false] are allowed.",
    ),
    ({"ok": 1}, "json_parse_exception", "Current token (VALUE_NUMBER_INT) not of boolean type"),
    (
        {"ts": "yesterday"},
        "illegal_argument_exception",
        "failed to parse date field [yesterday] with format "
        "[strict_date_optional_time||epoch_millis]",
    ),
    ({"name": {"a": 1}}, "illegal_argument_exception", "Expected text but found START_OBJECT"),
    ({"f": "x"}, "number_format_exception", 'For input string: "x"'),
]


@pytest.mark.parametrize(("doc", "type_", "reason"), CAUSES)
def test_a_refused_value_carries_the_parser_s_cause(
    doc: dict[str, Any], type_: str, reason: str
) -> None:
    mapping = {"properties": {**MAPPING["properties"], "f": {"type": "float"}}}
    got = document_refusal(IndexDefinition("logs", mappings=mapping), doc, "d1", None)
    assert got is not None and got.type == "mapper_parsing_exception"
    cause = got.meta["caused_by"]
    assert (cause["type"], cause["reason"]) == (type_, reason)
    assert got.body()["error"]["root_cause"] == [{"type": got.type, "reason": got.reason}]


def test_an_unparsable_date_s_cause_has_a_cause_of_its_own() -> None:
    got = document_refusal(IndexDefinition("logs", mappings=MAPPING), {"ts": "x"}, "d1", None)
    assert got is not None
    assert got.meta["caused_by"]["caused_by"] == {
        "type": "date_time_parse_exception",
        "reason": "Failed to parse with all enclosed parsers",
    }


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
