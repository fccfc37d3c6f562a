"""The Elasticsearch wire format shared by every API, without HTTP: errors, ids, write answers.

Kept apart from the aiohttp handlers so edge cases and response shapes can be
unit-tested in microseconds, and so the handlers stay a thin layer of I/O. What is
particular to one API lives beside it: :mod:`bulk` (``_bulk``), :mod:`mget` (reads
by id), :mod:`search` (``_search``).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from db2api.receiver.refusals import Refusal, invalid_name, shard_meta
from db2api.receiver.store import RANGE_OPERATORS
from db2api.receiver.writes import WriteResult

SHARDS = {"total": 1, "successful": 1, "failed": 0}
NOOP_SHARDS = {"total": 0, "successful": 0, "failed": 0}
# A read's shard counts, in the engines' order (skipped before failed).
READ_SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
_MAX_ID_BYTES = 512


class ProtocolError(Exception):
    """A request Elasticsearch would refuse as a whole; carries the ES-shaped error."""

    def __init__(self, status: int, type_: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.type = type_
        self.reason = reason

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.type, self.reason)


def error_body(status: int, type_: str, reason: str) -> dict[str, Any]:
    """The envelope Elasticsearch uses for every failed request."""
    cause = {"type": type_, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def new_id() -> str:
    return uuid.uuid4().hex


def check_id(doc_id: str) -> tuple[int, str, str] | None:
    if not doc_id:
        return (400, "illegal_argument_exception", "if _id is specified it must not be empty")
    if len(doc_id) * 4 <= _MAX_ID_BYTES:  # cannot be too long even in 4-byte UTF-8
        return None
    size = len(doc_id.encode())
    if size > _MAX_ID_BYTES:
        reason = (
            f"id [{doc_id[:32]}...] is too long, must be no longer than 512 bytes but was: {size}"
        )
        return (400, "illegal_argument_exception", reason)
    return None


def check_target(index: str, doc_id: str) -> Refusal | None:
    """The index name's refusal, else the id's: a bad job setting fails here, not in production."""
    problem = check_id(doc_id)
    return invalid_name(index) or (None if problem is None else Refusal(*problem))


def parse_json(raw: bytes, where: str = "[1:1] ") -> Any:
    """A request body's (or NDJSON line's) JSON; broken JSON fails the whole request.

    ``where`` starts the reason as Elasticsearch's parser starts it: the line and
    column, and for a bulk line what was being read.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(400, "x_content_parse_exception", f"{where}{exc}") from exc


def add_source(answer: dict[str, Any], raw: str, source: bool | list[str]) -> None:
    """Put a stored document into a get or search answer as ``_source`` asks.

    ``True`` embeds the stored text as-is (no re-encoding), field names keep only
    those top-level fields, ``False`` or no names leave ``_source`` out.
    """
    if source is True:
        answer["_source"] = orjson.Fragment(raw)
    elif source:
        stored = orjson.loads(raw)
        answer["_source"] = {k: v for k, v in stored.items() if k in source}


def parse_source(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """(document, error reason); the document is ``None`` when Elasticsearch would refuse it."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, f"failed to parse: {exc}"
    if not isinstance(doc, dict):
        return None, "failed to parse: the document must be a JSON object"
    return doc, ""


def rule_reason(field: str, doc_id: str) -> str:
    return f"failed to parse field [{field}] of type [keyword] in document with id '{doc_id}'"


def write_error(index: str, doc_id: str, result: WriteResult) -> Refusal:
    """The error of a write the store refused: a create conflict or a missing document.

    Texts as Elasticsearch words them, e.g. the bulk examples of the specification
    (elastic/elasticsearch-specification, specification/_global/bulk/examples/response/
    BulkResponseExample2.yaml): {"type": "document_missing_exception", "reason": "[5]:
    document missing", "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index":
    "index1"}.
    """
    if result.result == "document_missing":
        return Refusal(
            404, "document_missing_exception", f"[{doc_id}]: document missing", shard_meta(index)
        )
    reason = (
        f"[{doc_id}]: version conflict, document already exists "
        f"(current version [{result.version}])"
    )
    return Refusal(409, "version_conflict_engine_exception", reason, shard_meta(index))


def write_body(index: str, doc_id: str, result: WriteResult) -> dict[str, Any]:
    """The body of a successful single write (also the inside of a bulk item)."""
    return {
        "_index": index,
        "_id": doc_id,
        "_version": result.version,
        "result": result.result,
        "_shards": NOOP_SHARDS if result.result == "noop" else SHARDS,
        "_seq_no": result.seq_no,
        "_primary_term": 1,
    }


def parse_count_query(body: bytes) -> tuple[str | None, list[tuple[str, Any]]]:
    """(field, bounds) from a ``_count`` body; only match_all and one range are understood."""
    if not body.strip():
        return None, []
    data = parse_json(body)
    query = data.get("query") if isinstance(data, dict) else None
    if query is None or query == {"match_all": {}}:
        return None, []
    range_ = query.get("range") if isinstance(query, dict) and len(query) == 1 else None
    if not isinstance(range_, dict) or len(range_) != 1:
        raise ProtocolError(
            400, "parsing_exception", "the receiver's _count understands only match_all and range"
        )
    ((field, spec),) = range_.items()
    if not isinstance(spec, dict):
        raise ProtocolError(400, "parsing_exception", f"[range] query malformed for [{field}]")
    bounds: list[tuple[str, Any]] = []
    for key, value in spec.items():
        if key in ("format", "boost"):
            continue
        if key not in RANGE_OPERATORS:
            raise ProtocolError(400, "parsing_exception", f"[range] query does not support [{key}]")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ProtocolError(
                400, "parsing_exception", f"[range] [{key}] must be a string or number"
            )
        bounds.append((key, value))
    return field, bounds
