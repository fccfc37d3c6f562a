"""Whether a created index's mapping accepts a document, as Elasticsearch decides it.

Pure functions (no HTTP, no SQLite), so the rules are unit-tested as tables. The
receiver checks only what a job can trip over: a ``"dynamic": "strict"`` mapping, and
values a ``long``/``integer``/``short``/``byte``/``date``/``boolean`` field cannot hold.
Other field types take any value, as the receiver stores documents as given. Reading
and merging the mapping itself is :mod:`mapping`'s.

Item errors use ``mapper_parsing_exception`` without a ``[line:column]`` prefix, as the
rest of the receiver does (OpenSearch and Elasticsearch 7.x); Elasticsearch 8.x says
``document_parsing_exception`` and prefixes the reason with the location.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.mapping import is_object
from db2api.receiver.refusals import Refusal

_INTEGER_BOUNDS = {"long": 2**63, "integer": 2**31, "short": 2**15, "byte": 2**7}
_CHECKED_TYPES = frozenset({*_INTEGER_BOUNDS, "date", "boolean"})
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# strict_date_optional_time: yyyy[-MM[-dd['T'HH[:mm[:ss[.S+]]][offset]]]]
_ISO_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)


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
            if is_object(field):
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
