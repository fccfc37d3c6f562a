"""Index definitions as Elasticsearch reads them: create bodies, mapping merges, and documents.

Pure functions (no HTTP, no SQLite), so the rules are unit-tested as tables. The
receiver checks only what a job can trip over: a ``"dynamic": "strict"`` mapping, and
values a ``long``/``integer``/``short``/``byte``/``date``/``boolean`` field cannot hold.
Other field types take any value, as the receiver stores documents as given.

Item errors use ``mapper_parsing_exception`` without a ``[line:column]`` prefix, as the
rest of the receiver does (OpenSearch and Elasticsearch 7.x); Elasticsearch 8.x says
``document_parsing_exception`` and prefixes the reason with the location.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.refusals import Refusal

_CREATE_KEYS = ("settings", "mappings", "aliases")
_INTEGER_BOUNDS = {"long": 2**63, "integer": 2**31, "short": 2**15, "byte": 2**7}
_CHECKED_TYPES = frozenset({*_INTEGER_BOUNDS, "date", "boolean"})
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# strict_date_optional_time: yyyy[-MM[-dd['T'HH[:mm[:ss[.S+]]][offset]]]]
_ISO_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)


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
        elif _is_object(old) != _is_object(field):
            if _is_object(old):
                reason = f"can't merge a non object mapping [{full}] with an object mapping"
            else:
                reason = (
                    f"mapper [{full}] cannot be changed from type [{old['type']}] to [ObjectMapper]"
                )
            raise _refuse(400, "illegal_argument_exception", reason)
        elif _is_object(old):
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


def _is_object(field: dict[str, Any]) -> bool:
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


def document_refusal(
    definition: IndexDefinition | None, doc: dict[str, Any], doc_id: str, upsert: bytes | None
) -> Refusal | None:
    """The mapping's refusal of a document (or an update's partial and upsert documents)."""
    if definition is None or not _enforced(definition.mappings):
        return None
    docs = [doc] if upsert is None else [doc, orjson.loads(upsert)]
    for each in docs:
        refusal = _check_object(definition.mappings, _expand(each), "", "true", doc_id)
        if refusal is not None:
            return refusal
    return None


def _enforced(node: dict[str, Any]) -> bool:
    """Whether anything in the mapping can refuse a document (most mappings cannot)."""
    if str(node.get("dynamic", "")).lower() == "strict" or node.get("type") in _CHECKED_TYPES:
        return True
    return any(_enforced(field) for field in node.get("properties", {}).values())


def _expand(doc: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys as the objects Elasticsearch reads them as: {"a.b": 1} is {"a": {"b": 1}}."""
    expanded: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            value = _expand(value)
        *parents, last = key.split(".") if "." in key.strip(".") else (key,)
        node = expanded
        for part in parents:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
        old = node.get(last)
        both = isinstance(old, dict) and isinstance(value, dict)
        node[last] = {**old, **value} if both else value
    return expanded


def _check_object(
    node: dict[str, Any], obj: dict[str, Any], path: str, dynamic: str, doc_id: str
) -> Refusal | None:
    dynamic = str(node.get("dynamic", dynamic)).lower()
    properties = node.get("properties", {})
    for key, value in obj.items():
        field = properties.get(key)
        if field is None:
            if dynamic == "strict":
                return strict_refusal(key, path.rstrip(".") or "_doc")
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if _is_object(field):
                refusal = None
                if isinstance(item, dict):
                    refusal = _check_object(field, item, f"{path}{key}.", dynamic, doc_id)
            else:
                refusal = _value_refusal(field, item, f"{path}{key}", doc_id)
            if refusal is not None:
                return refusal
    return None


def strict_refusal(field: str, within: str) -> Refusal:
    """StrictDynamicMappingException: "mapping set to strict, dynamic introduction of [" +
    fieldName + "] within [" + path + "] is not allowed" (elastic/elasticsearch, server/.../
    index/mapper/StrictDynamicMappingException.java; 8.x prefixes "[line:column] ")."""
    reason = (
        f"mapping set to strict, dynamic introduction of [{field}] within [{within}] is not allowed"
    )
    return Refusal(400, "strict_dynamic_mapping_exception", reason)


def _value_refusal(field: dict[str, Any], value: Any, name: str, doc_id: str) -> Refusal | None:
    """FieldMapper's "failed to parse field [%s] of type [%s] in %s. Preview of field's value:
    '%s'" (elastic/elasticsearch, server/.../index/mapper/FieldMapper.java), e.g. "failed to
    parse field [rating] of type [float] in document with id '2'. Preview of field's value:
    'N/A'"."""
    type_ = field.get("type")
    if value is None or type_ not in _CHECKED_TYPES or _fits(type_, field, value):
        return None
    reason = (
        f"failed to parse field [{name}] of type [{type_}] in document with id '{doc_id}'. "
        f"Preview of field's value: '{_preview(value)}'"
    )
    return Refusal(400, "mapper_parsing_exception", reason)


def _fits(type_: str, field: dict[str, Any], value: Any) -> bool:
    if type_ == "boolean":
        return value is True or value is False or value in ("true", "false", "")
    if isinstance(value, bool | dict | list):
        return False
    if type_ == "date":  # default format: strict_date_optional_time||epoch_millis
        return "format" in field or _is_date(value)
    number = _number(value)
    if number is None:
        return False
    bound = _INTEGER_BOUNDS[type_]
    return -bound <= int(number) < bound  # coerce: a fraction is truncated


def _number(value: Any) -> Decimal | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and not _NUMBER.fullmatch(value):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _is_date(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    text = str(value)
    if _NUMBER.fullmatch(text) and "e" not in text.lower():
        return True  # epoch_millis
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
    try:
        dt.datetime(year or 0, month or 1, day or 1, hour or 0, minute or 0, second or 0)
    except ValueError:
        return False
    return True


def _preview(value: Any) -> str:
    """The value as Java's toString shows it in the reason: {a=1}, [1, 2], true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_preview(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_preview(v) for v in value) + "]"
    return "null" if value is None else str(value)
