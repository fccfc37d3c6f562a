"""The Elasticsearch/OpenSearch ``_bulk`` protocol, as pure functions.

Bodies are built from already-encoded document bytes (no re-serialisation), split
by document count and by bytes (counting both newlines of every pair), and a
response is read back into one result per document, in order, so only the items
that failed for a passing reason are sent again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import orjson

from db2api.documents import Document
from db2api.errors import TargetError
from db2api.job import Target


def action_line(index: str, doc_id: str) -> bytes:
    return orjson.dumps({"index": {"_index": index, "_id": doc_id}})


def entry_size(action: bytes, document: Document) -> int:
    return len(action) + len(document.body) + 2


@dataclass
class Batch:
    """Documents sent in one ``_bulk`` request, and the request body."""

    documents: list[Document]
    body: bytes


def body(index: str, documents: Sequence[Document]) -> bytes:
    """The NDJSON body for ``documents`` (used when only some of a batch are sent again)."""
    parts: list[bytes] = []
    for document in documents:
        parts += (action_line(index, document.id), b"\n", document.body, b"\n")
    return b"".join(parts)


def prepare(documents: Sequence[Document], target: Target) -> list[Batch | Document]:
    """A chunk's batches within the target's caps: built once, by whoever comes first."""
    return list(iter_batches(documents, target.index, target.bulk_docs, target.bulk_bytes))


def iter_batches(
    documents: Sequence[Document], index: str, max_docs: int, max_bytes: int
) -> Iterator[Batch | Document]:
    """Group documents into bodies within both caps.

    A document that alone exceeds ``max_bytes`` is yielded bare instead of a batch,
    for the caller to dead-letter: it can never be sent within the cap.
    """
    parts: list[bytes] = []
    members: list[Document] = []
    size = 0
    for document in documents:
        action = action_line(index, document.id)
        needed = entry_size(action, document)
        if needed > max_bytes:
            yield document
            continue
        if members and (len(members) >= max_docs or size + needed > max_bytes):
            yield Batch(members, b"".join(parts))
            parts, members, size = [], [], 0
        parts += (action, b"\n", document.body, b"\n")
        members.append(document)
        size += needed
    if members:
        yield Batch(members, b"".join(parts))


@dataclass(frozen=True)
class ItemResult:
    status: int
    error: str  # the target's error type, "" when the item succeeded
    reason: str


def parse_response(body: bytes, expected: int, url: str) -> list[ItemResult] | None:
    """One :class:`ItemResult` per document sent, in the order they were sent.

    ``None`` means every item succeeded (``"errors": false``): the common case, which
    then costs no per-item work. A compact Elasticsearch answer is recognised without
    parsing it at all: ``"errors":false`` at the top and one ``"status":`` per item (an
    escaped quote inside a string cannot form that key).
    """
    if b'"errors":false' in body[:64] and body.count(b'"status":') == expected:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
        raise TargetError(
            f"target answered POST {url} with something that is not JSON ({snippet!r}): "
            "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
        ) from None
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or len(items) != expected:
        got = len(items) if isinstance(items, list) else "no"
        raise TargetError(
            f"target's _bulk response at {url} has {got} items for {expected} documents: "
            "check that target.url points at an Elasticsearch/OpenSearch-compatible API"
        )
    if payload.get("errors") is False:
        return None
    return [_item(item) for item in items]


def _item(item: object) -> ItemResult:
    if not isinstance(item, dict) or not item:
        return ItemResult(500, "malformed_item", f"unreadable bulk item {item!r:.200}")
    result = next(iter(item.values()))
    if not isinstance(result, dict):
        return ItemResult(500, "malformed_item", f"unreadable bulk item {item!r:.200}")
    status = int(result.get("status", 500))
    error = result.get("error")
    if not error:
        return ItemResult(status, "", "")
    if isinstance(error, dict):
        reason = str(error.get("reason", ""))
        caused = error.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason"):
            reason = f"{reason}: {caused['reason']}"
        return ItemResult(status, str(error.get("type", "error")), reason)
    return ItemResult(status, "error", str(error))
