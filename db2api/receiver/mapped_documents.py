"""Whether a created index's mapping accepts a document, as Elasticsearch decides it.

Pure functions (no HTTP, no SQLite), so the rules are unit-tested as tables. The
receiver checks only what a job can trip over: a ``"dynamic": "strict"`` mapping, values
a ``long``/``integer``/``short``/``byte``/``float``/``double``/``half_float``/``date``/
``boolean`` field cannot hold, and an object where a ``keyword``/``text`` field wants text.
Other field types take any value, as the receiver stores documents as given. Reading
and merging the mapping itself is :mod:`mapping`'s.

Each refusal carries the ``caused_by`` both engines put under it (the parser's own
complaint), worded as OpenSearch 2.19.6 or Elasticsearch 8.19.21 word it without the
``[line:column]`` locations the receiver does not track.

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
_FLOAT_TYPES = frozenset({"float", "double", "half_float"})
_TEXT_TYPES = frozenset({"keyword", "text"})
_CHECKED_TYPES = frozenset({*_INTEGER_BOUNDS, *_FLOAT_TYPES, *_TEXT_TYPES, "date", "boolean"})
_DATE_FORMAT = "strict_date_optional_time||epoch_millis"
_TOKENS = {True: "VALUE_TRUE", False: "VALUE_FALSE"}
_JAVA_TYPES = {"long": "long", "integer": "int"}  # as Jackson names them in range errors
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
    return Refusal(400, "mapper_parsing_exception", reason, {"caused_by": _cause(type_, value)})


def _cause(type_: str, value: Any) -> dict[str, Any]:
    """What the field's parser said, e.g. {"type": "illegal_argument_exception", "reason":
    "For input string: \"abc\""} under a long given "abc" (both engines)."""
    if isinstance(value, dict):
        if type_ in _TEXT_TYPES or type_ == "date":
            return _error("illegal_argument_exception", "Expected text but found START_OBJECT")
        return _error("illegal_argument_exception", "Cannot parse object as number")
    if type_ == "date":
        reason = f"failed to parse date field [{_preview(value)}] with format [{_DATE_FORMAT}]"
        inner = _error("date_time_parse_exception", "Failed to parse with all enclosed parsers")
        return _error("illegal_argument_exception", reason) | {"caused_by": inner}
    if type_ == "boolean":
        if isinstance(value, str):
            reason = f"Failed to parse value [{value}] as only [true] or [false] are allowed."
            return _error("illegal_argument_exception", reason)
        token = "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
        return _error("json_parse_exception", f"Current token ({token}) not of boolean type")
    if isinstance(value, bool):
        reason = (
            f"Current token ({_TOKENS[value]}) not numeric, can not use numeric value accessors"
        )
        return _error("json_parse_exception", reason)
    if _number(value) is None:
        kind = "number_format_exception" if type_ in _FLOAT_TYPES else "illegal_argument_exception"
        return _error(kind, f'For input string: "{value}"')
    java = _JAVA_TYPES.get(type_)
    if isinstance(value, str) or java is None:  # a number out of the type's range
        return _error(
            "illegal_argument_exception", f"Value [{value}] is out of range for a {type_}"
        )
    low, high = -_INTEGER_BOUNDS[type_], _INTEGER_BOUNDS[type_] - 1
    reason = f"Numeric value ({value}) out of range of {java} ({low} - {high})"
    return _error("input_coercion_exception", reason)


def _error(type_: str, reason: str) -> dict[str, Any]:
    return {"type": type_, "reason": reason}


def _fits(type_: str, field: dict[str, Any], value: Any) -> bool:
    if type_ in _TEXT_TYPES:
        return not isinstance(value, dict)
    if type_ == "boolean":
        return value is True or value is False or value in ("true", "false", "")
    if isinstance(value, bool | dict | list):
        return False
    if type_ == "date":  # default format: strict_date_optional_time||epoch_millis
        return "format" in field or _is_date(value)
    number = _number(value)
    if number is None:
        return False
    if type_ in _FLOAT_TYPES:
        return True
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
