"""Index definitions as Elasticsearch reads them: create bodies, settings and mapping merges.

Pure functions (no HTTP, no SQLite), so the rules are unit-tested as tables; the
answers they refuse with are Elasticsearch's own texts. Whether a mapping accepts a
document is :mod:`mapped_documents`'s.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.refusals import Refusal

_CREATE_KEYS = ("settings", "mappings", "aliases")


class IndexRequestError(Exception):
    """An index API request Elasticsearch refuses; carries its answer."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def _refuse(status: int, type_: str, reason: str) -> IndexRequestError:
    return IndexRequestError(Refusal(status, type_, reason))


def parse_create(index: str, raw: bytes, created_ms: int) -> IndexDefinition:
    """The definition in a ``PUT /{index}`` body (which may be empty)."""
    body = _json_object(raw or b"{}")
    for key in body:
        if key not in _CREATE_KEYS:
            # CreateIndexRequest.source: ElasticsearchParseException("unknown key [{}] for
            # create index", name) (elastic/elasticsearch, server/.../CreateIndexRequest.java).
            raise _refuse(400, "parse_exception", f"unknown key [{key}] for create index")
    settings, mappings, aliases = (body.get(key) or {} for key in _CREATE_KEYS)
    for key, value in zip(_CREATE_KEYS, (settings, mappings, aliases), strict=True):
        if not isinstance(value, dict):
            raise _refuse(400, "parse_exception", f"[{key}] must be an object")
    check_mapping(mappings)
    return IndexDefinition(index, flat_settings(settings), mappings, aliases, created_ms)


def parse_mapping_update(raw: bytes) -> dict[str, Any]:
    """The body of ``PUT /{index}/_mapping``: ``properties``, ``dynamic``, ..."""
    if not raw.strip():
        # RestRequest.requiredContent: throw new ElasticsearchParseException("request body is
        # required") (elastic/elasticsearch, server/.../rest/RestRequest.java).
        raise _refuse(400, "parse_exception", "request body is required")
    update = _json_object(raw)
    check_mapping(update)
    return update


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _refuse(400, "x_content_parse_exception", f"[1:1] {exc}") from exc
    if not isinstance(body, dict):
        raise _refuse(400, "parse_exception", "request body must be a JSON object")
    return body


def check_mapping(mapping: dict[str, Any], path: str = "") -> None:
    """Refuse a mapping whose shape the receiver cannot read (field types are not checked)."""
    properties = mapping.get("properties", {})
    if not isinstance(properties, dict):
        raise _refuse(400, "mapper_parsing_exception", f"[{path}properties] must be an object")
    for name, field in properties.items():
        if not isinstance(field, dict) or not isinstance(field.get("type", ""), str):
            reason = f"Expected map for property [{path}{name}] with a string [type]"
            raise _refuse(400, "mapper_parsing_exception", reason)
        check_mapping(field, f"{path}{name}.")


def merge_mapping(
    current: dict[str, Any], update: dict[str, Any], path: str = ""
) -> dict[str, Any]:
    """``update`` merged into ``current`` as PUT _mapping does: fields add, types never change.

    The conflict texts are Elasticsearch's: FieldMapper.checkIncomingMergeType, "mapper
    [" + name() + "] cannot be changed from type [" + contentType() + "] to [" +
    mergeWith.contentType() + "]" (elastic/elasticsearch, server/src/main/java/org/
    elasticsearch/index/mapper/FieldMapper.java), and MapperErrors'
    "can't merge a non object mapping [" + fieldName + "] with an object mapping".
    """
    merged = {k: v for k, v in current.items() if k != "properties"} | {
        k: v for k, v in update.items() if k != "properties"
    }
    properties = dict(current.get("properties", {}))
    for name, field in update.get("properties", {}).items():
        full = f"{path}{name}"
        old = properties.get(name)
        if old is None:
            properties[name] = field
        elif is_object(old) != is_object(field):
            if is_object(old):
                reason = f"can't merge a non object mapping [{full}] with an object mapping"
            else:
                reason = (
                    f"mapper [{full}] cannot be changed from type [{old['type']}] to [ObjectMapper]"
                )
            raise _refuse(400, "illegal_argument_exception", reason)
        elif is_object(old):
            properties[name] = merge_mapping(old, field, f"{full}.")
        elif old.get("type") != field.get("type"):
            reason = (
                f"mapper [{full}] cannot be changed from type [{old.get('type')}] "
                f"to [{field.get('type')}]"
            )
            raise _refuse(400, "illegal_argument_exception", reason)
        else:
            properties[name] = old | field
    if properties or "properties" in current or "properties" in update:
        merged["properties"] = properties
    return merged


def with_mapping(definition: IndexDefinition, update: dict[str, Any]) -> IndexDefinition:
    """The definition after ``PUT /{index}/_mapping`` (raises on a conflicting change)."""
    return replace(definition, mappings=merge_mapping(definition.mappings, update))


def is_object(field: dict[str, Any]) -> bool:
    return "properties" in field or field.get("type", "object") in ("object", "nested")


def flat_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Settings as Elasticsearch keeps them: ``index.``-prefixed dotted keys, text values."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flat_settings(value, f"{name}.")
            continue
        name = name if name.startswith("index.") else f"index.{name}"
        flat[name] = [_text(v) for v in value] if isinstance(value, list) else _text(value)
    return flat


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()
