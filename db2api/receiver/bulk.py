"""The ``_bulk`` API without HTTP: split the NDJSON body, decide each item, answer in order.

A bulk request fails item by item, not as a whole, so the parsing (which lines break
the whole request), the planning (which items the faults, the mapping or a bad source
refuse) and the answer (one item per action, in request order) are kept together and
unit-tested in microseconds; the handler only reads the body and calls the store.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from db2api.receiver.catalog import IndexDefinition
from db2api.receiver.faults import Faults, ItemFault, decide_items, matches_reject_rule
from db2api.receiver.mapped_documents import document_refusal
from db2api.receiver.protocol import (
    SHARDS,
    ProtocolError,
    check_target,
    new_id,
    parse_json,
    parse_source,
    rule_reason,
    write_body,
    write_error,
)
from db2api.receiver.refusals import Refusal, decide_refusal
from db2api.receiver.writes import WriteOp, WriteResult

_FAILED = ("conflict", "document_missing")
BULK_OPS = ("index", "create", "update", "delete")
_NONE_DEFINED: Mapping[str, IndexDefinition] = {}
_REJECTED = "rejected execution of bulk item: the write queue is full (injected by the receiver)"


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


def parse_bulk(body: bytes, default_index: str | None) -> list[BulkAction]:
    """Split an NDJSON ``_bulk`` body into actions; a broken action line fails it all."""
    if not body:  # both engines, before parsing: RestBulkAction needs content
        raise ProtocolError(400, "parse_exception", "request body is required")
    lines = body.split(b"\n")
    last = len(lines) - 1 if lines[-1] == b"" else len(lines)  # a final "\n" ends the body
    actions: list[BulkAction] = []
    missing: list[str] = []  # what the whole request is refused for, action by action
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
            missing.append("index is missing")
        if needs_id and raw_id is None:
            missing.append("id is missing")
        if index is not None and (refusal := check_target(index, doc_id)):
            action.error = (refusal.status, refusal.type, refusal.reason)
            action.error_meta = refusal.meta
        actions.append(action)
    if not actions:
        missing.append("no requests added")
    if missing:
        raise _invalid(missing)
    return actions


def _invalid(problems: list[str]) -> ProtocolError:
    """A request refused as a whole before any item runs, as BulkRequest.validate words it.

    Both engines answer a ``delete`` or ``update`` without ``_id``, or an action with no
    index, this way (OpenSearch 2.19.6, Elasticsearch 8.19.21: ``Validation Failed: 1: index
    is missing;2: id is missing;``), not with a failed item.
    """
    reason = "".join(f"{n}: {problem};" for n, problem in enumerate(problems, 1))
    return ProtocolError(400, "action_request_validation_exception", f"Validation Failed: {reason}")


def _action(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    meta = parse_json(line, f"[{number}:1] malformed action/metadata line: ")
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
    body = parse_json(source, f"[{number + 1}:1] failed to parse update: ")
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
            action.error_meta = unmapped.meta
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
            if result.result == "noop":  # unlike a single _update's (OpenSearch 2.19.6, ES 8.19.21)
                item["_shards"] = SHARDS
        items.append({action.op: item})
    return {"took": took_ms, "errors": errors, "items": items}


def _item_error(action: BulkAction, result: WriteResult | None) -> Refusal:
    if action.error is not None:
        return Refusal(*action.error, action.error_meta or {})
    assert result is not None and action.index is not None
    return write_error(action.index, action.id, result)
