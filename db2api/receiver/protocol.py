"""The Elasticsearch wire format, without any HTTP: parse requests, build responses.

Kept apart from the aiohttp handlers so NDJSON edge cases and response shapes can
be unit-tested in microseconds, and so the handlers stay a thin layer of I/O.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.faults import Faults, ItemFault, decide_items, matches_reject_rule
from db2api.receiver.mapping import document_refusal
from db2api.receiver.refusals import Refusal, decide_refusal, invalid_name, shard_meta
from db2api.receiver.store import RANGE_OPERATORS, WriteOp, WriteResult

SHARDS = {"total": 1, "successful": 1, "failed": 0}
NOOP_SHARDS = {"total": 0, "successful": 0, "failed": 0}
_FAILED = ("conflict", "document_missing")
BULK_OPS = ("index", "create", "update", "delete")
_MAX_ID_BYTES = 512
_NONE_DEFINED: Mapping[str, IndexDefinition] = {}
_REJECTED = "rejected execution of bulk item: the write queue is full (injected by the receiver)"


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


@dataclass(slots=True)
class BulkAction:
    """One action line of a ``_bulk`` body, plus its source line when it has one.

    ``error`` is set when the action is valid NDJSON but cannot be carried out; that
    fails the item, not the whole request, as in Elasticsearch.
    """

    op: str
    index: str | None
    id: str
    source: bytes | None
    error: tuple[int, str, str] | None = None
    lost: bool = False  # answered as created, never stored (the bulk_item_lost fault)
    error_meta: dict[str, Any] | None = None  # fields Elasticsearch adds beside type and reason
    upsert: bytes | None = None  # an update's document for a missing id


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


def parse_bulk(body: bytes, default_index: str | None) -> list[BulkAction]:
    """Split an NDJSON ``_bulk`` body into actions; a broken action line fails it all."""
    lines = body.split(b"\n")
    last = len(lines) - 1 if lines[-1] == b"" else len(lines)  # a final "\n" ends the body
    actions: list[BulkAction] = []
    i = 0
    while i < last:
        line, number = lines[i], i + 1
        i += 1
        if not line or line.isspace():
            continue
        op, params = _action(line, number)
        index = params.get("_index", default_index)
        raw_id = params.get("_id")
        if index is not None and not isinstance(index, str):
            raise _malformed(number, "[_index] must be a string")
        if raw_id is not None and (not isinstance(raw_id, str | int) or isinstance(raw_id, bool)):
            raise _malformed(number, "[_id] must be a string")
        needs_id = op in ("delete", "update")
        doc_id = str(raw_id) if raw_id is not None else "" if needs_id else new_id()
        source = None
        if op != "delete":
            if i >= last:
                raise ProtocolError(
                    400,
                    "illegal_argument_exception",
                    f"[{op}] action on line {number} has no source line",
                )
            source = lines[i].removesuffix(b"\r")  # CRLF bodies from Windows tools
            i += 1
        action = BulkAction(op, index, doc_id, source)
        if op == "update":
            assert source is not None
            action.source, action.upsert = update_parts(source, number)
        if index is None:
            action.error = (400, "illegal_argument_exception", "index is missing")
        elif needs_id and raw_id is None:
            action.error = (400, "illegal_argument_exception", "id is missing")
        elif refusal := check_target(index, doc_id):
            action.error = (refusal.status, refusal.type, refusal.reason)
            action.error_meta = refusal.meta
        actions.append(action)
    if not actions:
        raise ProtocolError(
            400, "action_request_validation_exception", "Validation Failed: 1: no requests added;"
        )
    return actions


def _action(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    try:
        meta = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(
            400, "x_content_parse_exception", f"[{number}:1] malformed action/metadata line: {exc}"
        ) from exc
    if not isinstance(meta, dict) or len(meta) != 1:
        raise _malformed(number, "expected an object with exactly one action")
    ((op, params),) = meta.items()
    if op not in BULK_OPS:
        raise _malformed(
            number, f"expected one of [create, delete, index, update] but found [{op}]"
        )
    if not isinstance(params, dict):
        raise _malformed(number, f"[{op}] must be an object")
    return op, params


def update_parts(source: bytes, number: int) -> tuple[bytes, bytes | None]:
    """(partial document, upsert document) of an update's source line.

    An update without ``doc`` fails the whole request, as Elasticsearch's validation
    does; scripts are not run here.
    """
    try:
        body = orjson.loads(source)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(
            400, "x_content_parse_exception", f"[{number + 1}:1] failed to parse update: {exc}"
        ) from exc
    if not isinstance(body, dict):
        raise _malformed(number + 1, "[update] source must be an object")
    if "script" in body:
        raise ProtocolError(
            400, "illegal_argument_exception", "the receiver does not run update scripts"
        )
    doc = body.get("doc")
    if not isinstance(doc, dict):
        reason = "Validation Failed: 1: script or doc is missing;"
        raise ProtocolError(400, "action_request_validation_exception", reason)
    upsert = doc if body.get("doc_as_upsert") is True else body.get("upsert")
    if upsert is not None and not isinstance(upsert, dict):
        raise _malformed(number + 1, "[upsert] must be an object")
    return orjson.dumps(doc), None if upsert is None else orjson.dumps(upsert)


def _malformed(number: int, problem: str) -> ProtocolError:
    return ProtocolError(
        400, "illegal_argument_exception", f"Malformed action/metadata line [{number}], {problem}"
    )


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


def plan_bulk(
    actions: list[BulkAction],
    faults: Faults,
    rng: random.Random,
    authorization: str | None = None,
    defined: Mapping[str, IndexDefinition] = _NONE_DEFINED,
) -> tuple[list[WriteOp], list[int], dict[str, int]]:
    """Decide each item's fate: returns the writes, each write's position, and fault counts.

    Items refused here (index-level refusals, bad source, injected item faults, the
    reject rule) keep their ``error`` and are not written; the others go to the store in
    their original order. ``authorization`` is the request's header, named in a
    ``no_privileges`` refusal; ``defined`` the indices created with ``PUT /{index}``, whose mappings
    can refuse a document.
    """
    ops: list[WriteOp] = []
    positions: list[int] = []
    counts = {"bulk_item_429": 0, "bulk_item_400": 0, "bulk_item_lost": 0, "rule_400": 0}
    fates = decide_items(faults, rng, len(actions))
    rule = faults.reject_field is not None
    for pos, (action, fault) in enumerate(zip(actions, fates, strict=True)):
        if action.error is not None:
            continue
        assert action.index is not None
        index = action.index
        refusal = decide_refusal(
            faults, action.op, index, authorization, bulk=True, defined=defined
        )
        if refusal is not None:
            action.error = (refusal.status, refusal.type, refusal.reason)
            action.error_meta = refusal.meta
            if refusal.counter:
                counts[refusal.counter] = counts.get(refusal.counter, 0) + 1
            continue
        if action.source is None:
            ops.append(WriteOp(action.op, action.index, action.id, None))
            positions.append(pos)
            continue
        doc, reason = parse_source(action.source)
        if doc is None:
            action.error = (400, "mapper_parsing_exception", reason)
        elif fault is ItemFault.TOO_MANY:
            counts["bulk_item_429"] += 1
            action.error = (429, "es_rejected_execution_exception", _REJECTED)
        elif fault is ItemFault.BAD:
            counts["bulk_item_400"] += 1
            field = next(iter(doc), "_source")
            action.error = (400, "mapper_parsing_exception", rule_reason(field, action.id))
        elif rule and matches_reject_rule(faults, doc):
            counts["rule_400"] += 1
            assert faults.reject_field is not None
            reason = rule_reason(faults.reject_field, action.id)
            action.error = (400, "mapper_parsing_exception", reason)
        elif unmapped := document_refusal(defined.get(index), doc, action.id, action.upsert):
            action.error = (unmapped.status, unmapped.type, unmapped.reason)
        elif fault is ItemFault.LOST:
            counts["bulk_item_lost"] += 1
            action.lost = True
        else:
            upsert = None if action.upsert is None else action.upsert.decode()
            ops.append(WriteOp(action.op, action.index, action.id, action.source.decode(), upsert))
            positions.append(pos)
    return ops, positions, counts


def bulk_response(
    actions: list[BulkAction], positions: list[int], results: list[WriteResult], took_ms: int
) -> dict[str, Any]:
    """The ``_bulk`` response: one item per action, in request order."""
    written = dict(zip(positions, results, strict=True))
    items: list[dict[str, Any]] = []
    errors = False
    for pos, action in enumerate(actions):
        result = written.get(pos)
        if action.lost:
            result = WriteResult(201, "created", 1, 0)
        if result is None or result.result in _FAILED:
            errors = True
            error = _item_error(action, result)
            item: dict[str, Any] = {
                "_index": action.index,
                "_id": action.id,
                "status": error.status,
                "error": error.error(),
            }
        else:
            item = write_body(action.index or "", action.id, result)
            item["status"] = result.status  # a 404 "not_found" delete is not an error
        items.append({action.op: item})
    return {"took": took_ms, "errors": errors, "items": items}


def _item_error(action: BulkAction, result: WriteResult | None) -> Refusal:
    if action.error is not None:
        return Refusal(*action.error, action.error_meta or {})
    assert result is not None and action.index is not None
    return write_error(action.index, action.id, result)


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
    try:
        payload = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(400, "x_content_parse_exception", f"[1:1] {exc}") from exc
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
    index: str, doc_id: str, found: tuple[int, str] | None, source: bool | list[str] = True
) -> dict[str, Any]:
    """A ``GET _doc`` body (also one ``_mget`` entry); the stored text is embedded as-is."""
    if found is None:
        return {"_index": index, "_id": doc_id, "found": False}
    version, raw = found
    body: dict[str, Any] = {
        "_index": index,
        "_id": doc_id,
        "_version": version,
        "found": True,
    }
    if source is True:
        body["_source"] = orjson.Fragment(raw)
    elif source:
        stored = orjson.loads(raw)
        body["_source"] = {k: v for k, v in stored.items() if k in source}
    return body


def parse_count_query(body: bytes) -> tuple[str | None, list[tuple[str, Any]]]:
    """(field, bounds) from a ``_count`` body; only match_all and one range are understood."""
    if not body.strip():
        return None, []
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(400, "x_content_parse_exception", f"[1:1] {exc}") from exc
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
