"""Reading documents by id without HTTP: ``GET /{index}/_doc/{id}`` and ``_mget``.

Both answer with the same per-document body and honour the same ``_source``
setting, so its parsing and the body are stated once, beside the ``_mget`` body
rules (``ids`` or ``docs``, and which of them Elasticsearch refuses as a whole).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from db2api.receiver.protocol import ProtocolError, add_source, parse_json
from db2api.receiver.store import StoredDoc


class MgetDoc(NamedTuple):
    """One document an ``_mget`` asks for; ``source`` is True, False or the fields to keep."""

    index: str
    id: str
    source: bool | list[str]


def parse_source_param(value: object) -> bool | list[str]:
    """A ``_source`` setting from the query string or a body: a switch or field names."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        return [part for part in value.split(",") if part]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ProtocolError(400, "parsing_exception", f"[_source] cannot be {value!r}")


def parse_mget(body: bytes, path_index: str | None, source: str | None) -> list[MgetDoc]:
    """The documents of an ``_mget`` body: ``{"ids": [...]}`` or ``{"docs": [...]}``.

    ``source`` is the ``_source`` query parameter; a body-level or per-document
    ``_source`` overrides it, as in Elasticsearch.
    """
    payload = parse_json(body or b"{}")
    if not isinstance(payload, dict):
        raise ProtocolError(400, "parsing_exception", 'expected {"ids": [...]} or {"docs": [...]}')
    default = parse_source_param(source) if source is not None else True
    if "_source" in payload:
        default = parse_source_param(payload["_source"])
    ids, docs = payload.get("ids"), payload.get("docs")
    if ids is not None:
        if path_index is None:
            raise ProtocolError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing;",
            )
        if not isinstance(ids, list):
            raise ProtocolError(400, "parsing_exception", "[ids] must be an array")
        if not ids:
            raise ProtocolError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: no documents to get;",
            )
        return [MgetDoc(path_index, _text_id(i), default) for i in ids]
    if not isinstance(docs, list) or not docs:
        raise ProtocolError(
            400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;"
        )
    wanted: list[MgetDoc] = []
    for n, doc in enumerate(docs):
        if not isinstance(doc, dict) or "_id" not in doc:
            raise ProtocolError(
                400,
                "action_request_validation_exception",
                f"Validation Failed: 1: id is missing for doc {n};",
            )
        index = doc.get("_index", path_index)
        if not isinstance(index, str):
            raise ProtocolError(
                400,
                "action_request_validation_exception",
                f"Validation Failed: 1: index is missing for doc {n};",
            )
        chosen = parse_source_param(doc["_source"]) if "_source" in doc else default
        wanted.append(MgetDoc(index, _text_id(doc["_id"]), chosen))
    return wanted


def _text_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError(400, "parsing_exception", f"[_id] must be a string (got {value!r})")
    return str(value)


def doc_body(
    index: str, doc_id: str, found: StoredDoc | None, source: bool | list[str] = True
) -> dict[str, Any]:
    """A ``GET _doc`` body (also one ``_mget`` entry); the stored text is embedded as-is.

    Fields in the engines' order, ``_seq_no`` and ``_primary_term`` included as both send
    them (OpenSearch 2.19.6, Elasticsearch 8.19.21: tests/integration/engines/test_filter_path.py).
    """
    if found is None:
        return {"_index": index, "_id": doc_id, "found": False}
    body: dict[str, Any] = {
        "_index": index,
        "_id": doc_id,
        "_version": found.version,
        "_seq_no": found.seq_no,
        "_primary_term": 1,
        "found": True,
    }
    add_source(body, found.body, source)
    return body
